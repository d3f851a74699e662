"""Shared start-up for bench scripts: the command line, then Django against a dedicated, migrated
PostgreSQL database of the bench's own.

    import _setup
    ARGS = _setup.arguments(parser, quick={"tickets": 1_000})  # before any database: --help
    _setup.django_on_bench_db("inbox")  # then this, before any model import

DATABASE_URL names the PostgreSQL server (user, host, port); the database itself is always
`<BENCH_DATABASE_BASE>_<bench>` (base `bench_ht` unless set: bench_ht_inbox, bench_ht_plans, …),
created if missing and migrated, so a bench never touches the development database, anyone's test
database or another bench's rows. Set BENCH_DATABASE_BASE to keep your runs apart from someone
else's on a shared server (CI uses its own). Data a bench makes stays there between runs unless
the bench asks for a fresh database (drop one with `dropdb bench_ht_inbox` to start over).
DEBUG stays off (it would keep every query in memory and slow the figures down).

`--quick` (every bench has it; `make bench-quick` runs them all so, and CI does too) swaps the
full-size defaults for small ones: the bench still runs end to end and prints its figures and
ratios, which mean little at that size. Options given on the command line still win.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "bench_ht"


def arguments(parser: argparse.ArgumentParser, *, quick: dict) -> argparse.Namespace:
    """Parse the command line, with `quick` as the defaults when --quick is given."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes ({}): checks the bench still runs, as CI does; the figures mean "
        "little".format(", ".join(f"{name}={value}" for name, value in quick.items())),
    )
    args = parser.parse_args()
    if args.quick:
        parser.set_defaults(**quick)
        args = parser.parse_args()
    return args


def bench_database_name(bench: str) -> str:
    return f"{os.environ.get('BENCH_DATABASE_BASE') or DEFAULT_BASE}_{bench}"


def django_on_bench_db(bench: str, *, fresh: bool = False, migrate: bool = True) -> str:
    """Point Django at the bench's own database, set it up and return its name.

    `fresh` drops the database first, for a bench that wants exactly the rows it makes (and the
    schema of the day) rather than whatever earlier runs left behind.
    """
    import dj_database_url
    import psycopg

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        sys.exit("Benches need PostgreSQL: set DATABASE_URL=postgres://user@host:5432/any")
    name = bench_database_name(bench)
    config = dj_database_url.parse(server)
    conninfo = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
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
