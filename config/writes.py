"""Several writes of one transaction sent as one statement (issue 21: a change set in a handful
of statements, not a round trip per table).

A `Writes` gathers inserts (`insert`, as bulk_create would write them) and updates of rows'
fields (`update`, one UPDATE … FROM (VALUES …)) and `send`s them: on PostgreSQL as ONE
statement, each write a data-modifying CTE of it; on SQLite (a first look on one machine) one by
one, as the ORM writes them.

The writes of one statement can't see each other's rows, so a row another write of the batch
refers to (a change set its items point at) needs its id before it is written: `next_ids` is
an expression that claims ids from the table's sequence, read with whatever the caller reads
anyway (no round trip of its own). On SQLite, which has no sequences, it is NULL and `insert`
writes at once instead, so the ORM gives the ids. Either way the caller writes parents before
children, and the rows of a batch are whole once `send` returns. Foreign keys are checked at
commit (Django creates them DEFERRABLE INITIALLY DEFERRED), so the order of the CTEs doesn't
matter to PostgreSQL.

Shared plumbing: imports no domain app (pyproject.toml's contracts).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import IntegerField, Model, Value
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery


def next_ids(model: type[Model], count: int) -> RawSQL | Value:
    """`count` new ids of `model`'s table, as an array a query reads (NULL on SQLite)."""
    if connection.vendor != "postgresql" or count <= 0:
        return Value(None, output_field=IntegerField())
    return RawSQL(
        "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))",
        (connection.ops.quote_name(model._meta.db_table), model._meta.pk.column, count),
    )


class Writes:
    """Inserts and updates gathered for one statement (see the module doc)."""

    def __init__(self) -> None:
        self._statements: list[tuple[str, tuple]] = []
        self._together = connection.vendor == "postgresql"

    def insert(self, objs: Sequence[Model]) -> None:
        """Insert `objs` (one model, all with their ids or none): deferred to `send` on
        PostgreSQL, at once elsewhere."""
        if not objs:
            return
        model = type(objs[0])
        if not self._together:
            model._default_manager.bulk_create(objs)
            return
        with_ids = objs[0].pk is not None
        if any((obj.pk is not None) != with_ids for obj in objs):
            raise ValueError("insert takes rows that all have their ids, or none")
        fields = [
            field for field in model._meta.concrete_fields if with_ids or not field.primary_key
        ]
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
        query = InsertQuery(model)
        query.insert_values(fields, objs, raw=False)
        [(sql, params)] = query.get_compiler(connection=connection).as_sql()
        self._statements.append((sql, tuple(params)))
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias

    def update(self, objs: Sequence[Model], fields: Sequence[str]) -> None:
        """Write `fields` of `objs` (saved rows of one model), as bulk_update would: one
        UPDATE … FROM (VALUES …), a row of values per object."""
        if not objs:
            return
        model = type(objs[0])
        if not self._together:
            model._default_manager.bulk_update(objs, fields)
            return
        opts, quote = model._meta, connection.ops.quote_name
        columns = [opts.pk, *(opts.get_field(name) for name in fields)]
        row = "(" + ", ".join(f"%s::{f.cast_db_type(connection)}" for f in columns) + ")"
        names = ", ".join(quote(f.column) for f in columns)
        sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
        pk = quote(opts.pk.column)
        sql = (
            f"UPDATE {quote(opts.db_table)} AS t SET {sets} "
            f"FROM (VALUES {', '.join([row] * len(objs))}) AS v ({names}) WHERE t.{pk} = v.{pk}"
        )
        params = tuple(
            f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs for f in columns
        )
        self._statements.append((sql, params))

    def send(self) -> None:
        """Write what was gathered, in one statement; the batch is empty again after."""
        statements, self._statements = self._statements, []
        if not statements:
            return
        *first, (last_sql, last_params) = statements
        ctes = ", ".join(f"w{number} AS ({sql})" for number, (sql, _) in enumerate(first))
        sql = f"WITH {ctes} {last_sql}" if first else last_sql
        params = tuple(p for _, ps in first for p in ps) + last_params
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
