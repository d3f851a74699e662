"""The few SQL pieces that PostgreSQL and SQLite spell differently, so every aggregate read (the
ops metrics, read through each app's selectors) stays one query on both: seconds between two
moments, percentiles, JSON arrays as rows and a number read out of JSON. PostgreSQL is the real
thing; on SQLite (a first look on one machine) `percentile_cont` is registered as an aggregate
with the same definition (linear interpolation between the closest ranks, as PostgreSQL's
PERCENTILE_CONT).

`ComparedRanges` is the range a page shows and the one before it: an aggregate read groups its
rows by a `period` column ("current" / "previous") so both come back from one query.

Shared plumbing: imports no domain app (pyproject.toml's contracts)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, connections, transaction
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    CharField,
    Expression,
    F,
    FloatField,
    Func,
    QuerySet,
    Value,
    When,
)

from config.replicas import read_alias

CURRENT = "current"
PREVIOUS = "previous"


@dataclass(frozen=True)
class ComparedRanges:
    """[since, split) is the range before, [split, until) the range shown."""

    since: datetime
    split: datetime
    until: datetime

    def period(self, field: str) -> Case:
        """CURRENT or PREVIOUS, by which range `field` falls in."""
        return Case(
            When(**{f"{field}__gte": self.split}, then=Value(CURRENT)),
            default=Value(PREVIOUS),
            output_field=CharField(),
        )

    def filter(self, qs: QuerySet, field: str) -> QuerySet:
        """The rows of `qs` whose `field` falls in either range, with their `period`."""
        return qs.filter(**{f"{field}__gte": self.since, f"{field}__lt": self.until}).annotate(
            period=self.period(field)
        )


def moment(value: datetime):
    """A moment as a raw query's parameter."""
    return connection.ops.adapt_datetimefield_value(value)


def period_sql(column: str) -> str:
    """The `period` column in raw SQL; takes the split moment as its one parameter."""
    return f"CASE WHEN {column} >= %s THEN '{CURRENT}' ELSE '{PREVIOUS}' END"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class Seconds(Func):
    """end − start in seconds (a float)."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            # julianday() counts days as a float: round off its error to the millisecond.
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


class Percentile(Aggregate):
    """PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile is a fraction from 0 to 1")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra):
        template = f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = f"%(function)s(%(expressions)s, {self.fraction!r})"
        return super().as_sql(compiler, connection, template=template, **extra)


class _PercentileCont:
    """SQLite's percentile_cont(value, fraction), as PostgreSQL computes it."""

    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        if value is not None:
            self.values.append(float(value))
            self.fraction = float(fraction)

    def finalize(self):
        if not self.values:
            return None
        values = sorted(self.values)
        position = self.fraction * (len(values) - 1)
        low, high = math.floor(position), math.ceil(position)
        return values[low] + (values[high] - values[low]) * (position - low)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("PERCENTILE_CONT", 2, _PercentileCont)


@contextmanager
def read_session() -> Iterator[None]:
    """One transaction for a page's aggregates. On PostgreSQL without JIT: these are short
    queries over an index range whose row estimates (a JSON array expanded is guessed at 100
    rows a row) trip the JIT threshold, and compiling costs more than the query itself.

    On the read replica when the caller asked for it (config.replicas.reads_from_replica)."""
    alias = read_alias()
    with transaction.atomic(using=alias):
        if is_postgres():
            with connections[alias].cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


# --- Raw SQL fragments ----------------------------------------------------------------------------
def json_text_elements(column: str, alias: str) -> str:
    """A FROM item yielding each element of the JSON array `column` as text in `alias`.value."""
    if is_postgres():
        array = f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"
        return f"jsonb_array_elements_text({array}) AS {alias}(value)"
    return (
        f"json_each(CASE WHEN json_type({column}) = 'array' THEN {column} ELSE '[]' END) AS {alias}"
    )


def json_object_elements(column: str, path: str, alias: str) -> str:
    """A FROM item yielding each object of the array at `path` (a key) of `column`."""
    if is_postgres():
        return (
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({column} -> '{path}') = 'array' "
            f"THEN {column} -> '{path}' ELSE '[]'::jsonb END) AS {alias}(value)"
        )
    return f"json_each({column}, '$.{path}') AS {alias}"


def json_number(expression: str, key: str | None = None) -> str:
    """A number stored in JSON (as a number or a numeric string), or NULL."""
    if is_postgres():
        text = f"({expression} ->> '{key}')" if key else f"({expression} #>> '{{}}')"
        return f"(CASE WHEN {text} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {text}::numeric END)"
    path = f"$.{key}" if key else "$"
    return f"CAST(json_extract({expression}, '{path}') AS REAL)"


def json_flag(expression: str, key: str) -> str:
    """A JSON boolean as 1 / 0."""
    if is_postgres():
        return f"(CASE WHEN ({expression} ->> '{key}') = 'true' THEN 1 ELSE 0 END)"
    return f"(CASE WHEN json_extract({expression}, '$.{key}') THEN 1 ELSE 0 END)"


def json_length(expression: str, key: str | None = None) -> str:
    """The length of the JSON array `expression` (at `key`), 0 for anything else."""
    if is_postgres():
        value = f"{expression} -> '{key}'" if key else expression
        array = f"CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} END"
        return f"COALESCE(jsonb_array_length({array}), 0)"
    path = f"$.{key}" if key else "$"
    return f"COALESCE(json_array_length({expression}, '{path}'), 0)"


def json_text(expression: str, key: str) -> str:
    if is_postgres():
        return f"({expression} ->> '{key}')"
    return f"json_extract({expression}, '$.{key}')"


def seconds_between(end: str, start: str) -> str:
    if is_postgres():
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


def in_ids(column: str, ids) -> tuple[str, list]:
    ids = [int(i) for i in ids]
    if not ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids


def fetch(sql: str, params: list) -> list[tuple]:
    """Rows of a raw read, from the database config.replicas.read_alias() names."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class AnyOf(Expression):
    """`column = ANY(%s)` with the values as ONE array parameter, for `.filter(AnyOf(...))`: the
    scan filters by thousands of tracks, and an IN list of thousands is compiled, quoted, sent
    and parsed one placeholder at a time (elsewhere than PostgreSQL, that IN list)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, values):
        super().__init__()
        self.column = F(column)
        self.values = list(values)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s)", [*params, self.values]
        if not self.values:
            return "1 = 0", []
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", [*params, *self.values]
