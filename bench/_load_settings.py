"""The production settings for bench/load.py's gunicorn and cluster, but for static files: their
names are not hashed, so the bench need not run collectstatic (minutes on a busy machine) before
the dashboard renders. Nothing else differs."""

from config.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
