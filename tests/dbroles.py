"""The suite as the application role (docs/rules.md "Audit log"; CI sets DATABASE_OWNER_URL).

With DATABASE_OWNER_URL set (PostgreSQL), the owner role creates and migrates the test database
and grants the application role (audit/dbroles.py), and the tests then run as the application
role (DATABASE_URL), as the web and the cluster do. What only the owner may do — flushing the
tables between transactional tests, a test playing the one who holds the database and disables
the triggers — goes through `owner_cursor()`, the owner's own connection to the test database.
Without DATABASE_OWNER_URL the suite's one role plays both parts.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import dj_database_url
from django.conf import settings
from django.db import connection

OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def owner_mode() -> bool:
    return bool(OWNER_URL) and settings.IS_POSTGRES


def owner_credentials() -> dict:
    owner = dj_database_url.parse(OWNER_URL)
    return {key: owner[key] for key in CREDENTIALS}


def _owner_conninfo() -> dict:
    owner = owner_credentials()
    return {
        "host": owner["HOST"] or "127.0.0.1",
        "port": owner["PORT"] or 5432,
        "user": owner["USER"],
        "password": owner["PASSWORD"] or None,
        "dbname": connection.settings_dict["NAME"],  # the test database
    }


@contextmanager
def owner_cursor():
    """A cursor acting as the owner of the tables of the test database, committed on leaving
    (the test must be transactional for the owner to see its rows, and they its changes)."""
    if not owner_mode():
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    with psycopg.connect(**_owner_conninfo()) as conn, conn.cursor() as cursor:
        yield cursor
