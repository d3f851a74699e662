"""The two database roles (`manage.py db_roles`; docs/rules.md "Audit log").

- The **owner** owns the database, its schema and every table: migrations run as it.
- The **application** role (web nodes and the django-q2 cluster) owns nothing. It may read and
  write the tables, but on the audit table only SELECT and INSERT. Owning no table, it cannot
  ALTER one (DISABLE TRIGGER), DROP TRIGGER or TRUNCATE; not being a superuser, it cannot set
  session_replication_role (which would skip the triggers). So the application cannot rewrite
  its own history; whoever holds the owner's or a superuser's password still can, which is
  what the signed checkpoints are for (audit/checkpoints.py).

PostgreSQL only. Every step is idempotent: run it after each `migrate` as well as on set-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg import sql

# Tables the application may only add to (and read): UPDATE, DELETE and TRUNCATE are neither
# granted nor possible through their triggers.
APPEND_ONLY_TABLES = ("audit_auditevent",)
SCHEMA = "public"


@dataclass(frozen=True)
class RoleSpec:
    name: str
    password: str | None


def _role_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    return cursor.fetchone() is not None


def _ensure_role(cursor, role: RoleSpec, attributes: str, say: Callable[[str], None]) -> None:
    verb = "ALTER" if _role_exists(cursor, role.name) else "CREATE"
    statement = sql.SQL("{} ROLE {} LOGIN " + attributes).format(
        sql.SQL(verb), sql.Identifier(role.name)
    )
    if role.password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(role.password))
    cursor.execute(statement)
    say(f"{verb.lower()} role {role.name}: LOGIN {attributes}")


def roles_ensure(
    cursor, *, database: str, owner: RoleSpec, app: RoleSpec, createdb: bool, say
) -> None:
    """As an administrator (a superuser, or a managed server's master user): create or update the
    two roles and give the database and its schema to the owner."""
    # Long on purpose: the DDL for the two roles in the order PostgreSQL needs it (roles,
    # ownership, grants, revokes), each statement idempotent.
    owner_attrs = "NOSUPERUSER NOCREATEROLE NOBYPASSRLS " + (
        "CREATEDB" if createdb else "NOCREATEDB"
    )
    _ensure_role(cursor, owner, owner_attrs, say)
    _ensure_role(
        cursor, app, "NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT NOREPLICATION", say
    )
    # The application must not be able to become the owner.
    cursor.execute(
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s AND r.rolname <> %s",
        [app.name, app.name],
    )
    if cursor.fetchone():
        cursor.execute(
            sql.SQL("REVOKE {} FROM {}").format(
                sql.Identifier(owner.name), sql.Identifier(app.name)
            )
        )
        say(f"revoke membership of {owner.name} from {app.name}")
    owner_id = sql.Identifier(owner.name)
    cursor.execute(
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), owner_id)
    )
    cursor.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(SCHEMA), owner_id))
    say(f"database {database} and schema {SCHEMA}: owned by {owner.name}")
    # Objects a superuser created (an older set-up, a restore) move to the owner.
    cursor.execute(
        """
        SELECT c.relname, c.relkind FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND pg_get_userbyid(c.relowner) <> %s
           -- a table's own sequences (serial, identity) move with it
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
        """,
        [SCHEMA, owner.name],
    )
    moved = cursor.fetchall()
    for name, kind in moved:
        what = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}.get(kind, "TABLE")
        cursor.execute(
            sql.SQL("ALTER " + what + " {}.{} OWNER TO {}").format(
                sql.Identifier(SCHEMA), sql.Identifier(name), owner_id
            )
        )
    cursor.execute(
        """
        SELECT p.oid::regprocedure::text FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = %s AND pg_get_userbyid(p.proowner) <> %s
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        """,
        [SCHEMA, owner.name],
    )
    functions = [row[0] for row in cursor.fetchall()]
    for signature in functions:
        cursor.execute(sql.SQL("ALTER FUNCTION " + signature + " OWNER TO {}").format(owner_id))
    if moved or functions:
        say(f"{len(moved)} tables and sequences, {len(functions)} functions: owned by {owner.name}")


def grants_apply(cursor, *, database: str, owner: str, app: str, say) -> None:
    """As the owner (or an administrator): what the application role may do, now and on every
    table later migrations create."""
    o, a, s = sql.Identifier(owner), sql.Identifier(app), sql.Identifier(SCHEMA)
    statements = [
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(s),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), a),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, a),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            s, a
        ),
        sql.SQL("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {} FROM {}").format(
            s, a
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, a),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(o, s, a),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} "
            "GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(o, s, a),
    ]
    for statement in statements:
        cursor.execute(statement)
    say(f"{app}: SELECT, INSERT, UPDATE, DELETE on every table of {SCHEMA} (and future ones)")
    for table in APPEND_ONLY_TABLES:
        cursor.execute("SELECT to_regclass(%s)", [f"{SCHEMA}.{table}"])
        if cursor.fetchone()[0] is None:
            continue  # not migrated yet: run db_roles again after migrate
        cursor.execute(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {}.{} FROM {}").format(
                s, sql.Identifier(table), a
            )
        )
        say(f"{app}: only SELECT, INSERT on {table}")
        # Its partitions too (made later by ht_partitions_ensure, which revokes the same).
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [f"{SCHEMA}.{table}"],
        )
        for (partition,) in cursor.fetchall():
            cursor.execute(
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {}.{} FROM {}").format(
                    s, sql.Identifier(partition), a
                )
            )
    cursor.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND pg_get_userbyid(c.relowner) = %s
        """,
        [SCHEMA, app],
    )
    owned = cursor.fetchone()[0]
    if owned:
        raise RuntimeError(f"{app} owns {owned} objects in {SCHEMA}: run db_roles as an admin")
