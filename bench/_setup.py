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
the bench asks for a fresh database (drop one with `dropdb bench_ht_inbox` to start over). A
fresh database is a clone of a migrated template (`<base>__template_<fingerprint>`, made once per
schema: the migration files and installed packages), not a new migration run: a second or two
instead of the ten and more a full migrate takes on a busy server.
DEBUG stays off (it would keep every query in memory and slow the figures down).

`--quick` (every bench has it; `make bench-quick` runs them all so, and CI does too) swaps the
full-size defaults for small ones: the bench still runs end to end and prints its figures and
ratios, which mean little at that size. Options given on the command line still win.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from importlib import metadata
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

    `fresh` drops the database first and clones the migrated template in its place, for a bench
    that wants exactly the rows it makes (and the schema of the day) rather than whatever earlier
    runs left behind.
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
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        if fresh:
            template = migrated_template(conn, base)
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')

    os.environ["DATABASE_URL"] = f"{base}/{name}"
    os.environ.pop("TEST_DATABASE_NAME", None)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    # A fresh database is a clone of the migrated template: nothing to migrate.
    if migrate and not fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return name


def migrations_fingerprint() -> str:
    """What the schema depends on: the project's migration files and every installed package's
    version (Django's own apps and the third-party ones carry migrations too)."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()):
        digest.update(dist.encode())
    return digest.hexdigest()[:12]


def migrated_template(conn, base_url: str) -> str:
    """The name of a migrated database to clone, made (and migrated, by manage.py in a child
    process) if missing. An advisory lock keeps two benches from making it at once; templates
    of an older schema under the same base are dropped."""
    prefix = f"{os.environ.get('BENCH_DATABASE_BASE') or DEFAULT_BASE}__template_"
    template = prefix + migrations_fingerprint()
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [prefix])
    try:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if not found:
            for (old,) in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix]
            ).fetchall():
                conn.execute(f'DROP DATABASE IF EXISTS "{old}"')
            conn.execute(f'CREATE DATABASE "{template}"')
            environment = {
                **os.environ,
                "DATABASE_URL": f"{base_url}/{template}",
                "DEBUG": "0",
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
                "DJANGO_SETTINGS_MODULE": "config.settings",
            }
            environment.pop("TEST_DATABASE_NAME", None)
            migrate = [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"]
            done = subprocess.run(migrate, env=environment, cwd=ROOT, check=False)
            if done.returncode:
                conn.execute(f'DROP DATABASE IF EXISTS "{template}"')
                sys.exit(f"migrating the bench template {template} failed")
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [prefix])
    return template
