"""`manage.py db_roles`: create and grant the owner and application database roles."""

from __future__ import annotations

import os

import dj_database_url
import psycopg
from django.core.management.base import BaseCommand, CommandError

from audit.dbroles import RoleSpec, grants_apply, roles_ensure


def _conninfo(url: str) -> dict:
    config = dj_database_url.parse(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise CommandError(f"db_roles needs PostgreSQL URLs, not {url.split(':', 1)[0]}")
    return {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": config["NAME"],
    }


class Command(BaseCommand):
    help = (
        "Create (or update) the owner role, which runs migrations, and the application role, "
        "which the web and cluster use: it owns no table and may only read and add to the audit "
        "log. Idempotent; run it once on set-up and after every migrate. Roles and passwords come "
        "from DATABASE_OWNER_URL and DATABASE_URL; it connects as DATABASE_ADMIN_URL (a superuser "
        "or the managed server's master user)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--admin-url", default=os.environ.get("DATABASE_ADMIN_URL", ""))
        parser.add_argument("--owner-url", default=os.environ.get("DATABASE_OWNER_URL", ""))
        parser.add_argument("--app-url", default=os.environ.get("DATABASE_URL", ""))
        parser.add_argument(
            "--createdb",
            action="store_true",
            help="let the owner create databases (the test suite's test database; not for "
            "production)",
        )

    def handle(self, *args, admin_url, owner_url, app_url, createdb, **options):
        if not owner_url or not app_url:
            raise CommandError("Set DATABASE_OWNER_URL and DATABASE_URL (the application role)")
        owner, app = _conninfo(owner_url), _conninfo(app_url)
        admin = _conninfo(admin_url or owner_url)
        if owner["user"] == app["user"]:
            raise CommandError("The owner and the application role must be two different roles")
        if owner["dbname"] != app["dbname"]:
            raise CommandError("DATABASE_OWNER_URL and DATABASE_URL name different databases")
        database = app["dbname"]
        say = self.stdout.write
        with (
            psycopg.connect(**{**admin, "dbname": database}, autocommit=True) as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            roles_ensure(
                cursor,
                database=database,
                owner=RoleSpec(owner["user"], owner["password"]),
                app=RoleSpec(app["user"], app["password"]),
                createdb=createdb,
                say=say,
            )
            grants_apply(cursor, database=database, owner=owner["user"], app=app["user"], say=say)
