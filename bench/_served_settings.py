"""The production settings for the HTTP benches' gunicorn (bench/_http.py), plus the baseline's
trivial JSON view (bench/_served_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "_served_urls"

# The benches drive a few keys far past any sane per-key limit: a limit no bench reaches keeps
# the counting's cost in the figures without refusing the load.
API_RATE_LIMIT = "1000000000/60s"
