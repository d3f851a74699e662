"""The production settings for the HTTP benches' gunicorn (bench/_http.py), plus the baseline's
trivial JSON view (bench/_served_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "_served_urls"
