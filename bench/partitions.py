"""Insert and verify rates of the audit log partitioned by month against the same table
unpartitioned (issue 21 item 6; docs/scale.md "Partitions").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/partitions.py
    python bench/partitions.py --quick          # 40,000 events: what make bench-quick runs

In its own database (bench/_setup.py) it makes two twins of audit_auditevent with the same
columns, indexes and guard triggers: `bench_audit_flat` (one table, primary key id) and
`bench_audit_parted` (partitioned by month as audit/partitions.py does it, primary key
(id, created_at)). It generates --events valid chain links of --tenants tenants spread over
--months months in time order, and COPYs every batch into both (hashing is not timed). Then
it verifies every chain of each twin the way verify_audit does (ordered by tenant and seq,
chain_rows_check), and removes the oldest month: DELETE on the flat twin (guards lifted)
against DETACH + DROP on the partitioned one.

The same twins of agents_qcresult (its model's indexes; --qc-results rows, a fifth of the
events by default) show the activity tables (docs/scale.md "Partitions"): COPY, the ops
metrics' range read (one tenant's results of the last 28 days, counted) and the oldest month
out.

The full form (50 M events, 24 months, 20 tenants) is hours, not minutes: at 1 M events on
the shared 2-core machine (load average 10-13) the build took 189 s (hashing and both COPYs)
and each verify ~60 s, so 50 M is ~2.6 h of build and ~1.7 h of verifying, and ~2 x 35 GB
of disk. Run it on a quiet machine; --quick (40,000 events) runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--events", type=int, default=50_000_000)
parser.add_argument("--months", type=int, default=24)
parser.add_argument("--tenants", type=int, default=20)
parser.add_argument("--batch", type=int, default=100_000, help="events per COPY")
parser.add_argument("--qc-results", type=int, default=0, help="0: a fifth of --events")
parser.add_argument("--verify-runs", type=int, default=1, help="best of this many verifies")
ARGS = _setup.arguments(
    parser, quick={"events": 40_000, "months": 4, "tenants": 4, "verify_runs": 2}
)
_setup.django_on_bench_db("partitions")

from django.db import connection, transaction  # noqa: E402

from audit.chain import GENESIS_HASH, canonical_json, link_hash, utc_iso  # noqa: E402
from audit.partitions import _next_month  # noqa: E402
from audit.verify import chain_rows_check  # noqa: E402

FLAT, PARTED = "bench_audit_flat", "bench_audit_parted"
COLUMNS = (
    "tenant_id, seq, created_at, actor_type, actor_id, actor_label, action, resource_type, "
    "resource_id, plan_version, payload_hash, data, prev_hash, hash"
)
INDEXES = {
    "resource": "(tenant_id, resource_type, resource_id)",
    "created": "(tenant_id, created_at)",
    "action": "(tenant_id, action)",
    "tenant": "(tenant_id)",
}


def _twins_make(start: datetime, months: int) -> None:
    with connection.cursor() as c:
        for table in (FLAT, PARTED):
            c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(f"DROP SEQUENCE IF EXISTS {table}_id_seq")
            c.execute(f"CREATE SEQUENCE {table}_id_seq")
        like = "LIKE audit_auditevent INCLUDING CONSTRAINTS"
        c.execute(f"CREATE TABLE {FLAT} ({like})")
        c.execute(f"ALTER TABLE {FLAT} ADD PRIMARY KEY (id)")
        c.execute(f"ALTER TABLE {FLAT} ADD UNIQUE (tenant_id, seq)")
        c.execute(f"CREATE TABLE {PARTED} ({like}) PARTITION BY RANGE (created_at)")
        month = start
        for _ in range(months + 1):
            c.execute(
                f"CREATE TABLE {PARTED}_p{month:%Y_%m} PARTITION OF {PARTED} "
                "FOR VALUES FROM (%s) TO (%s)",
                [month, _next_month(month)],
            )
            month = _next_month(month)
        c.execute(f"CREATE TABLE {PARTED}_pdefault PARTITION OF {PARTED} DEFAULT")
        c.execute(f"ALTER TABLE {PARTED} ADD PRIMARY KEY (id, created_at)")
        c.execute(f"ALTER TABLE {PARTED} ADD UNIQUE (tenant_id, seq, created_at)")
        for table in (FLAT, PARTED):
            c.execute(f"ALTER TABLE {table} ALTER id SET DEFAULT nextval('{table}_id_seq')")
            for name, columns in INDEXES.items():
                c.execute(f"CREATE INDEX {table}_{name} ON {table} {columns}")
            # The guards of migrations 0002/0004 (the functions are the audit table's own).
            c.execute(
                f"CREATE TRIGGER {table}_rows BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only_refuse()"
            )


def _batches(args, start: datetime, span: timedelta):
    """Lists of COPY lines, in time order across tenants; and the chain heads at the end."""
    heads = dict.fromkeys(range(1, args.tenants + 1), (0, GENESIS_HASH))
    step = span / args.events
    lines = []
    for i in range(args.events):
        tenant = i % args.tenants + 1
        seq, prev = heads[tenant]
        seq += 1
        at = utc_iso(start + step * i)
        data = {"channel": "search", "entity_id": f"cmp-{seq % 50}", "pct": 7.5}
        body = canonical_json(
            [tenant, "agent", "key:1", "optimizer", "change_set.applied", "changeset",
             f"cs-{seq}", 12, "a" * 64, data]
        )  # fmt: skip
        event_hash = link_hash(prev_hash=prev, seq=seq, created_at=at, body=body)
        lines.append(
            f"{tenant}\t{seq}\t{at}\tagent\tkey:1\toptimizer\tchange_set.applied\tchangeset\t"
            f"cs-{seq}\t12\t{'a' * 64}\t{json.dumps(data)}\t{prev}\t{event_hash}\n"
        )
        heads[tenant] = (seq, event_hash)
        if len(lines) == args.batch:
            yield lines, heads
            lines = []
    if lines:
        yield lines, heads


def _copy(table: str, lines: list[str], columns: str = COLUMNS) -> float:
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for at in range(0, len(lines), 5000):
            copy.write("".join(lines[at : at + 5000]))
    return time.perf_counter() - started


_ROWS = """
SELECT id, seq,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
       prev_hash, hash, tenant_id, actor_type, actor_id, actor_label, action, resource_type,
       resource_id, plan_version, payload_hash, data::text
  FROM {table} ORDER BY tenant_id, seq
"""


def _verify(table: str, heads: dict) -> tuple[float, int]:
    started = time.perf_counter()
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name=f"verify_{table}") as cursor:
            cursor.itersize = 5000
            cursor.execute(_ROWS.format(table=table))
            rows = ((*row[:-1], json.loads(row[-1])) for row in cursor)
            verdict = chain_rows_check(rows, heads)
    if not verdict.ok:
        raise SystemExit(f"{table}: the bench chain is broken: {verdict.broken}")
    return time.perf_counter() - started, verdict.checked


def _oldest_month_removed(start: datetime) -> tuple[float, float]:
    upto = _next_month(start)
    with transaction.atomic(), connection.cursor() as c:
        began = time.perf_counter()
        c.execute(f"ALTER TABLE {FLAT} DISABLE TRIGGER USER")
        c.execute(f"DELETE FROM {FLAT} WHERE created_at < %s", [upto])
        c.execute(f"ALTER TABLE {FLAT} ENABLE TRIGGER USER")
        flat = time.perf_counter() - began
    with transaction.atomic(), connection.cursor() as c:
        began = time.perf_counter()
        c.execute(f"ALTER TABLE {PARTED} DETACH PARTITION {PARTED}_p{start:%Y_%m}")
        c.execute(f"DROP TABLE {PARTED}_p{start:%Y_%m}")
        parted = time.perf_counter() - began
    return flat, parted


QC_FLAT, QC_PARTED = "bench_qc_flat", "bench_qc_parted"
QC_COLUMNS = (
    "tenant_id, run_id, main_task_id, subtask_id, agent, model, passed, failure_codes, attempt, "
    "created_at"
)
QC_INDEXES = {  # agents.models.QcResult
    "grain": "(tenant_id, main_task_id, subtask_id, created_at)",
    "run": "(run_id, subtask_id)",
    "created": "(tenant_id, created_at)",
}
QC_READ = (
    "SELECT count(*), count(*) FILTER (WHERE passed) FROM {table} "
    "WHERE tenant_id = %s AND created_at >= %s AND created_at < %s"
)


def _qc_twins(args, start: datetime, end: datetime) -> dict:
    """Both QC twins filled alike; figures: COPY rates, the range read, the oldest month out."""
    # Long on purpose: make, fill, read and trim both twins side by side, so each figure
    # compares the same rows at the same moment of the run.
    n = args.qc_results or max(args.events // 5, 1)
    with connection.cursor() as c:
        for table in (QC_FLAT, QC_PARTED):
            c.execute(f"DROP TABLE IF EXISTS {table}")
        like = "LIKE agents_qcresult INCLUDING CONSTRAINTS INCLUDING DEFAULTS"
        c.execute(f"CREATE TABLE {QC_FLAT} ({like})")
        c.execute(f"ALTER TABLE {QC_FLAT} ADD PRIMARY KEY (id)")
        c.execute(f"CREATE TABLE {QC_PARTED} ({like}) PARTITION BY RANGE (created_at)")
        month = start
        while month <= end:
            c.execute(
                f"CREATE TABLE {QC_PARTED}_p{month:%Y_%m} PARTITION OF {QC_PARTED} "
                "FOR VALUES FROM (%s) TO (%s)",
                [month, _next_month(month)],
            )
            month = _next_month(month)
        c.execute(f"CREATE TABLE {QC_PARTED}_pdefault PARTITION OF {QC_PARTED} DEFAULT")
        c.execute(f"ALTER TABLE {QC_PARTED} ADD PRIMARY KEY (id, created_at)")
        for table in (QC_FLAT, QC_PARTED):
            for name, columns in QC_INDEXES.items():
                c.execute(f"CREATE INDEX {table}_{name} ON {table} {columns}")
    step, timed = (end - start) / n, {QC_FLAT: 0.0, QC_PARTED: 0.0}
    for first in range(0, n, args.batch):
        lines = [
            f"{i % args.tenants + 1}\t{i // 10 + 1}\ttask-{i % 7}\ts{i % 3}\twriter\tm-1\t"
            f"{'t' if i % 10 < 7 else 'f'}\t[]\t{i % 3 + 1}\t{utc_iso(start + step * i)}\n"
            for i in range(first, min(first + args.batch, n))
        ]
        for table in (QC_FLAT, QC_PARTED):
            timed[table] += _copy(table, lines, QC_COLUMNS)
    window = (end - timedelta(days=28), end)
    read = dict.fromkeys((QC_FLAT, QC_PARTED), float("inf"))
    with connection.cursor() as c:
        for table in (QC_FLAT, QC_PARTED):
            c.execute(f"ANALYZE {table}")
        for _ in range(3):  # best of three, alternating
            for table in (QC_FLAT, QC_PARTED):
                began = time.perf_counter()
                counts = []
                for tenant in range(1, args.tenants + 1):
                    c.execute(QC_READ.format(table=table), [tenant, *window])
                    counts.append(c.fetchone())
                read[table] = min(read[table], time.perf_counter() - began)
                if table == QC_FLAT:
                    expected = counts
                elif counts != expected:
                    raise SystemExit(f"the QC twins disagree: {counts} != {expected}")
    with transaction.atomic(), connection.cursor() as c:
        began = time.perf_counter()
        c.execute(f"DELETE FROM {QC_FLAT} WHERE created_at < %s", [_next_month(start)])
        flat_rm = time.perf_counter() - began
    with transaction.atomic(), connection.cursor() as c:
        began = time.perf_counter()
        c.execute(f"ALTER TABLE {QC_PARTED} DETACH PARTITION {QC_PARTED}_p{start:%Y_%m}")
        c.execute(f"DROP TABLE {QC_PARTED}_p{start:%Y_%m}")
        parted_rm = time.perf_counter() - began
    return {"n": n, "copy": timed, "read": read, "out": (flat_rm, parted_rm)}


def main(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    start = datetime(now.year - (args.months // 12 + 1), now.month, 1, tzinfo=UTC)
    end = start
    for _ in range(args.months):
        end = _next_month(end)
    _twins_make(start, args.months)
    began = time.perf_counter()
    timed = {FLAT: 0.0, PARTED: 0.0}
    heads: dict = {}
    done = 0
    for lines, chain_heads in _batches(args, start, end - start):
        heads = chain_heads
        for table in (FLAT, PARTED):
            timed[table] += _copy(table, lines)
        done += len(lines)
        if done % (args.batch * 20) == 0:
            print(f"  {done:,} events …", flush=True)
    total = time.perf_counter() - began
    with connection.cursor() as c:
        c.execute(f"ANALYZE {FLAT}")
        c.execute(f"ANALYZE {PARTED}")
    verify = {FLAT: (float("inf"), 0), PARTED: (float("inf"), 0)}
    for _ in range(args.verify_runs):  # alternating: neither profits from the other's cache
        for table in (FLAT, PARTED):
            verify[table] = min(verify[table], _verify(table, heads))
    flat_rm, parted_rm = _oldest_month_removed(start)
    qc = _qc_twins(args, start, end)

    n = args.events
    print(f"{n:,} events, {args.tenants} tenants, {args.months} months ({total:.0f} s to build)")
    flat_in, parted_in = n / timed[FLAT], n / timed[PARTED]
    print(f"insert (COPY)   flat {flat_in:10,.0f}/s   partitioned {parted_in:10,.0f}/s   "
          f"ratio {parted_in / flat_in:.2f}")  # fmt: skip
    flat_v, parted_v = (verify[t][1] / verify[t][0] for t in (FLAT, PARTED))
    print(f"verify (chain)  flat {flat_v:10,.0f}/s   partitioned {parted_v:10,.0f}/s   "
          f"ratio {parted_v / flat_v:.2f}")  # fmt: skip
    print(f"oldest month out: DELETE {flat_rm * 1000:,.0f} ms   DETACH+DROP "
          f"{parted_rm * 1000:,.0f} ms")  # fmt: skip
    flat_q, parted_q = (qc["n"] / qc["copy"][t] for t in (QC_FLAT, QC_PARTED))
    print(f"QC results: {qc['n']:,} rows")
    print(f"insert (COPY)   flat {flat_q:10,.0f}/s   partitioned {parted_q:10,.0f}/s   "
          f"ratio {parted_q / flat_q:.2f}")  # fmt: skip
    flat_r, parted_r = (qc["read"][t] * 1000 for t in (QC_FLAT, QC_PARTED))
    print(f"28-day read, {args.tenants} tenants   flat {flat_r:8,.1f} ms   partitioned "
          f"{parted_r:8,.1f} ms   ratio {parted_r / flat_r:.2f}")  # fmt: skip
    print(f"oldest month out: DELETE {qc['out'][0] * 1000:,.0f} ms   DETACH+DROP "
          f"{qc['out'][1] * 1000:,.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main(ARGS)
