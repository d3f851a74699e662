"""Shared start-up for bench scripts: Django against a dedicated, migrated PostgreSQL database.

    import _setup
    _setup.django_on_bench_db()      # first thing in a bench script, before any model import

DATABASE_URL names the PostgreSQL server (user, host, port); the database itself is always
BENCH_DATABASE_NAME (default `bench_ht`), created if missing and migrated, so a bench never touches
the development database or anyone's test database. Data a bench makes stays there between runs
(reuse it or make fresh rows; drop the whole database with `dropdb bench_ht` to start over).
DEBUG stays off (it would keep every query in memory and slow the figures down).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on_bench_db(*, migrate: bool = True) -> str:
    """Point Django at the bench database, set it up and return its name."""
    import dj_database_url
    import psycopg

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        sys.exit("Benches need PostgreSQL: set DATABASE_URL=postgres://user@host:5432/any")
    name = os.environ.get("BENCH_DATABASE_NAME", "bench_ht")
    config = dj_database_url.parse(server)
    conninfo = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')

    base = server.rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    os.environ.pop("TEST_DATABASE_NAME", None)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return name
