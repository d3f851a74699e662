"""Database-level guards: triggers that make the database itself refuse edits.

Used from migrations (RunPython with the connection's vendor), so the rule holds for anything
that writes to the database, not only for our Python. A superuser can still disable triggers;
the audit verifier is what catches that (we promise tamper-evident, not tamper-proof).
"""

from __future__ import annotations


def _pg_function(name: str, message: str, when: str | None) -> str:
    condition = f"IF {when} THEN " if when else ""
    end = " END IF;" if when else ""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {condition}RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege';{end}
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;"""


def install_guards(
    connection,
    *,
    table: str,
    name: str,
    message: str,
    operations: tuple[str, ...] = ("UPDATE", "DELETE"),
    truncate: bool = False,
    when_old: str | None = None,
) -> None:
    """Refuse `operations` on `table` (rows matching `when_old`, e.g. "OLD.status = 'approved'")."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            function = f"{name}_refuse"
            pg_when = when_old
            cursor.execute(_pg_function(function, message, pg_when))
            cursor.execute(
                f"CREATE TRIGGER {name}_rows BEFORE {' OR '.join(operations)} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
            if truncate:
                cursor.execute(_pg_function(f"{name}_refuse_truncate", message, None))
                cursor.execute(
                    f"CREATE TRIGGER {name}_truncate BEFORE TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_refuse_truncate()"
                )
        elif connection.vendor == "sqlite":
            for operation in operations:
                when = f" WHEN {when_old}" if when_old else ""
                cursor.execute(
                    f"CREATE TRIGGER {name}_{operation.lower()} BEFORE {operation} ON {table} "
                    f"FOR EACH ROW{when} BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )


def remove_guards(
    connection, *, table: str, name: str, operations: tuple[str, ...] = ("UPDATE", "DELETE")
) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}_rows ON {table}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}_truncate ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}_refuse()")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}_refuse_truncate()")
        elif connection.vendor == "sqlite":
            for operation in operations:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}_{operation.lower()}")


# Tables whose rows the database protects. Test set-up needs to flush them between
# transactional tests (tests/conftest.py); nothing else may.
PROTECTED_TABLES: dict[str, str] = {
    "audit_auditevent": "audit_append_only",
    "plans_planversion": "plan_version_frozen",  # and plan_version_kept (plans migration 0002)
    # optimization migration 0003: the optimization log
    "optimization_changeset": "change_set_frozen",  # and change_set_kept
    "optimization_changesetitem": "change_set_item_append_only",
    "optimization_changesetevent": "change_set_event_append_only",
    "optimization_appliedchange": "applied_change_append_only",
}
