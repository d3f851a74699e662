"""Monthly partitions of the tables that grow forever (PostgreSQL only; docs/scale.md
"Partitions").

`audit_auditevent` (by created_at), `agents_gatecall` (by at), `agents_qcresult` (by created_at),
`optimization_appliedchange` (by applied_at), `optimization_changesetevent` (by at) and
`optimization_performancerow` (by date, the day reported) are declaratively partitioned by
calendar month (UTC), plus a DEFAULT partition so that a write never fails for want of a month.
Change-set items are not (docs/scale.md "Partitions" says why).
Native partitioning, not pg_partman: Debian packages pg_partman, but as an extension whose
background worker and `CREATE EXTENSION` need a superuser and a server restart
(shared_preload_libraries), which a managed server or the application role does not have; the
little it would do here (make next months ahead) is one function below.

`ht_partitions_ensure(table, months)` is a SECURITY DEFINER function owned by the schema's owner
(audit/dbroles.py): the application role (the django-q2 task `audit.tasks.partitions_ensure`)
owns nothing and may not CREATE, yet may have next months' partitions made — only of the tables
named in the function, only as monthly ranges. For the audit table it also puts on every
partition what PostgreSQL does not pass on from the parent: the TRUNCATE trigger (statement
triggers are not cloned) and the absence of UPDATE, DELETE and TRUNCATE privileges (partitions
get the owner's default privileges). The row triggers that refuse UPDATE and DELETE are cloned
onto every partition, present and future, by PostgreSQL itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

# table -> partition key: a time set once, when the row is written, never changed. The function
# below names the same tables (it trusts no argument).
PARTITIONED = {
    "audit_auditevent": "created_at",
    "agents_gatecall": "at",
    "agents_qcresult": "created_at",
    "optimization_appliedchange": "applied_at",
    "optimization_changesetevent": "at",
    "optimization_performancerow": "date",  # the day reported: part of the row's unique key
}
# Keys of type date (the others are timestamptz): their bounds are days, not UTC midnights.
DATE_KEYS = ("optimization_performancerow",)
APPEND_ONLY_PARTITIONED = ("audit_auditevent",)
MONTHS_AHEAD = 3
DEFAULT_SUFFIX = "_pdefault"

ENSURE_FUNCTION = """
CREATE OR REPLACE FUNCTION ht_partitions_ensure(p_table text, p_months integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  m date;
  part text;
  made integer := 0;
  grantee_name text;
  bound_time text := CASE WHEN p_table IN (__DATE_TABLES__) THEN '' ELSE ' 00:00:00+00' END;
BEGIN
  IF p_table NOT IN (__TABLES__) THEN
    RAISE EXCEPTION 'ht_partitions_ensure: % is not partitioned by month', p_table;
  END IF;
  IF p_months < 0 OR p_months > 24 THEN
    RAISE EXCEPTION 'ht_partitions_ensure: months ahead must be 0 to 24, not %', p_months;
  END IF;
  FOR i IN 0..p_months LOOP
    m := (first_month + make_interval(months => i))::date;
    part := p_table || '_p' || to_char(m, 'YYYY_MM');
    IF to_regclass(part) IS NULL THEN
      BEGIN
        EXECUTE format(
          'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, p_table,
          to_char(m, 'YYYY-MM-DD') || bound_time,
          to_char((m + interval '1 month')::date, 'YYYY-MM-DD') || bound_time);
        made := made + 1;
      EXCEPTION WHEN check_violation THEN
        -- The DEFAULT partition already holds rows of that month: left as it is, and
        -- partitions_ensure() reports the month missing.
        RAISE WARNING 'ht_partitions_ensure: % not made: % has rows of that month',
          part, p_table || '_pdefault';
      END;
    END IF;
  END LOOP;
  IF p_table = 'audit_auditevent' THEN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'audit_auditevent'::regclass LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = part::regclass
                        AND tgname = 'audit_append_only_truncate') THEN
        EXECUTE format('CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only_refuse_truncate()',
                       part);
      END IF;
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', part);
      FOR grantee_name IN
        SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = part::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
           AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %I', part, grantee_name);
      END LOOP;
    END LOOP;
  END IF;
  RETURN made;
END $$;
""".replace("__TABLES__", ", ".join(f"'{table}'" for table in PARTITIONED)).replace(
    "__DATE_TABLES__", ", ".join(f"'{table}'" for table in DATE_KEYS)
)


def _month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


# --- Used by the migrations that partition a table ----------------------------------------------
def _constraints(cursor, table: str, kind: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = %s ORDER BY conname",
        [table, kind],
    )
    return cursor.fetchall()


def table_partition_by_month(
    schema_editor, *, table: str, unique: dict[str, list[str]], keep_triggers: bool = False
) -> None:
    """Turn `table` into one partitioned by month on PARTITIONED[table], rows kept.

    The primary key becomes (id, key) and each unique constraint in `unique` (name -> its
    columns) gains the key unless it has it already, as PostgreSQL requires; a unique
    constraint not named there is refused. Django's state keeps `id` as the primary key (ids
    still come from one sequence). Foreign keys out of the table and every other index are put
    back as they were; with `keep_triggers` its triggers too (row triggers on the parent are
    cloned onto every partition). No foreign key may point at the table (checked here).
    """
    # Long on purpose: the conversion in the order PostgreSQL needs it (read what to put back,
    # rename, create, copy, drop, put back), in the migration's one transaction.
    if schema_editor.connection.vendor != "postgresql":
        return
    key = PARTITIONED[table]
    old = f"{table}_unpartitioned"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass", [table])
        if cursor.fetchone()[0]:
            raise RuntimeError(f"{table} has inbound foreign keys: it can't be partitioned")
        foreign = _constraints(cursor, table, "f")
        unlisted = {name for name, _ in _constraints(cursor, table, "u")} - set(unique)
        if unlisted:
            raise RuntimeError(f"{table}: unique constraints {sorted(unlisted)} not carried over")
        cursor.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
            "AND NOT tgisinternal ORDER BY tgname",
            [table],
        )
        triggers = [row[0] for row in cursor.fetchall()] if keep_triggers else []
        cursor.execute(
            "SELECT indexdef FROM pg_indexes i WHERE tablename = %s AND NOT EXISTS ("
            " SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname"
            " AND c.conrelid = %s::regclass)",
            [table, table],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT min({key}) FROM {table}")
        oldest = cursor.fetchone()[0]
        if oldest is not None and not isinstance(oldest, datetime):  # a date key
            oldest = datetime(oldest.year, oldest.month, 1, tzinfo=UTC)
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            f"PARTITION BY RANGE ({key})"
        )
        now = datetime.now(UTC)
        month = _month_start(min(oldest, now) if oldest else now)
        while month < _month_start(now):  # past months of the rows kept; ahead: the function
            upto = _next_month(month)
            cursor.execute(
                f"CREATE TABLE {partition_name(table, month)} PARTITION OF {table} "
                "FOR VALUES FROM (%s) TO (%s)",
                [month.date(), upto.date()] if table in DATE_KEYS else [month, upto],
            )
            month = upto
        cursor.execute(f"CREATE TABLE {table}{DEFAULT_SUFFIX} PARTITION OF {table} DEFAULT")
        cursor.execute(ENSURE_FUNCTION)
        cursor.execute("SELECT ht_partitions_ensure(%s, %s)", [table, MONTHS_AHEAD])
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        last_id = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(f"CREATE SEQUENCE {table}_id_seq OWNED BY {table}.id")
        if last_id:
            cursor.execute("SELECT setval(%s, %s)", [f"{table}_id_seq", last_id])
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {key})")
        for name, columns in unique.items():
            columns = columns if key in columns else [*columns, key]
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)})"
            )
        for name, definition in foreign:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for definition in indexes + triggers:
            cursor.execute(definition)


def ensure_function_install(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(ENSURE_FUNCTION)


# --- At run time ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    start: datetime | None  # None: the DEFAULT partition
    end: datetime | None
    rows: int | None = None

    @property
    def is_default(self) -> bool:
        return self.start is None


def partitions_of(table: str, *, count_rows: bool = False) -> list[Partition]:
    """The table's partitions, oldest first, the DEFAULT one last ([] if not partitioned)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname
            """,
            [table],
        )
        rows = cursor.fetchall()
        found = []
        for name, bound in rows:
            start = end = None
            if bound != "DEFAULT":
                # FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')
                low, high = bound.split("'")[1], bound.split("'")[3]
                start, end = _parse_bound(low), _parse_bound(high)
            count = None
            if count_rows:
                cursor.execute(f'SELECT count(*) FROM "{name}"')
                count = cursor.fetchone()[0]
            found.append(Partition(table, name, start, end, count))
    found.sort(key=lambda p: (p.start is None, p.start or datetime.min.replace(tzinfo=UTC)))
    return found


def _parse_bound(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # a day, for a date key: its UTC midnight
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row and row[0])


class PartitionsMissing(RuntimeError):
    """A month that should exist does not (its rows went to the DEFAULT partition first)."""


@transaction.atomic(durable=True)
def partitions_ensure(months_ahead: int = MONTHS_AHEAD) -> dict[str, int]:
    """Make this month's and the next `months_ahead` months' partitions of every partitioned
    table ({table: partitions made}); raises PartitionsMissing if one could not be made."""
    made: dict[str, int] = {}
    if connection.vendor != "postgresql":
        return made
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")  # the function's clock, not this process's
        now = cursor.fetchone()[0]
    for table in PARTITIONED:
        if not is_partitioned(table):
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT ht_partitions_ensure(%s, %s)", [table, months_ahead])
            made[table] = cursor.fetchone()[0]
        have = {p.name for p in partitions_of(table)}
        month, missing = _month_start(now), []
        for _ in range(months_ahead + 1):
            if partition_name(table, month) not in have:
                missing.append(partition_name(table, month))
            month = _next_month(month)
        if missing:
            raise PartitionsMissing(
                f"{table}: {', '.join(missing)} could not be made: the DEFAULT partition holds "
                'rows of those months (docs/scale.md "Partitions")'
            )
    return made
