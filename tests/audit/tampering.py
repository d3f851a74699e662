"""Lift the audit table's guard triggers inside one test, the way a superuser could.

PostgreSQL: `ALTER TABLE ... DISABLE TRIGGER USER` (transactional: the test's rollback or the
`finally` puts it back). SQLite has no such switch: the triggers are dropped and recreated.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection

TABLE = "audit_auditevent"


@contextmanager
def audit_triggers_lifted():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's foreign keys are deferred; ALTER TABLE refuses to run while their checks
            # are pending in this (test) transaction, so run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            try:
                yield cursor
            finally:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
            triggers = cursor.fetchall()
            assert triggers, "the guard triggers should be installed"
            for name, _ in triggers:
                cursor.execute(f"DROP TRIGGER {name}")
            try:
                yield cursor
            finally:
                for _, sql in triggers:
                    cursor.execute(sql)
