"""The gate over HTTP: gunicorn (2 workers) + PostgreSQL, 16 clients for 20 s (aims: ≥ 70 % of the
throughput of the honest floor — a JSON view doing one autocommit UPDATE, served the same way —
p99 < 100 ms, and no overshoot; the trivial JSON view is shown too).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/gate.py

Each run recreates its own database (bench_ht_gate, bench/_setup.py): 4 tenants with the
default (and highest allowed) ceilings — 8 global steps and 5 tool rounds per run, trip line 3×
the estimate — one real agent key each, and 20,000 registered runs (bulk-inserted; estimate
$0.10, so the line is $0.30).

The clients take the calls from one queue that plays 4 runs per client (64) at a time, their
calls interleaved: the calls in flight are on many runs, and one run's calls still go to
whichever clients are free, so they can overlap. A run gets 5 `step`, 3 `tool_round` (8 global
steps: all allowed) and 2 `llm_call` with an expected cost of $0.05 (a reservation), each
followed by its spend report ($0.04, settling the reservation). One run in 25 asks for 2 steps
more than its ceiling (the first refusal opens its A8, the second finds it blocked); one in 40
reports $0.20 per call, so its second report crosses the line and trips the Cost Guard (A9).

Printed: gate calls per second and their p50/p99 latency, next to two baselines driven by the
same 16 clients for as long in the same run (bench/_served_urls.py): the trivial view (a POST of
a small JSON body answered with JSON) and the floor (the same plus one autocommit UPDATE of one
of 4,096 rows: every gate call commits one write, and that commit is the floor), as ratios of
requests served per second; then the overshoots — runs
with a counter above its ceiling, runs whose actual cost is at or past the trip line without
an A9 — which must be 0, and a check that every allowed call was counted once. Then where a
gate call's time goes, measured in this process one call at a time: a bare UPDATE of the run's
row, the gate's own SQL, `run_gate` (the service), the agent-key lookup, the connection health
check each request starts with, the whole request in-process (middleware, key, django-ninja)
and over HTTP — each trivial-view figure beside its gate figure.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--clients", type=int, default=16)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
parser.add_argument("--warm-up", type=float, default=1, help="seconds not counted, first")
parser.add_argument("--tenants", type=int, default=4)
parser.add_argument("--runs", type=int, default=20_000)
parser.add_argument("--samples", type=int, default=300, help="calls per in-process figure")
ARGS = _setup.arguments(
    parser,
    quick={"clients": 4, "seconds": 1, "warm_up": 0.3, "runs": 600, "tenants": 2, "samples": 20},
)
# A fresh database each run: runs used by an earlier run are at their ceilings. (The ceilings
# can't be raised for a bench: 8 global steps is a hard ceiling, enforced by the database.)
_setup.django_on_bench_db("gate", fresh=True)

import _http  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from agents.models import AgentRun, GateCall  # noqa: E402
from agents.services import agent_key_authenticate, agent_key_create, run_gate  # noqa: E402
from agents.services.gate import _COUNTING_SQL  # noqa: E402
from approvals.models import Ticket  # noqa: E402
from audit.actors import Actor  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

ACTOR = Actor.system("bench")
ESTIMATE = Decimal("0.10")
EXPECTED = "0.05"
SCRIPT = ["step", "tool_round", "step", "llm_call", "tool_round", "step", "step", "tool_round"]
SCRIPT += ["llm_call", "step"]
HAMMERED_EVERY = 25  # these runs ask for 2 steps over the ceiling: A8
COSTLY_EVERY = 40  # these runs report $0.20 a call: A9 on the second report


def make_world(args: argparse.Namespace) -> tuple[list, list[str], list[tuple[int, str]]]:
    stamp = int(time.time())
    tenants, keys = [], []
    for n in range(args.tenants):
        tenant = tenant_create(
            slug=f"gate-{stamp}-{n}",
            name=f"Gate bench {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
            actor=ACTOR,
        )
        _key, plain = agent_key_create(tenant=tenant, name=f"agent-{n}", actor=ACTOR)
        tenants.append(tenant)
        keys.append(plain)
    runs = [
        AgentRun(
            tenant=tenants[n % len(tenants)],
            run_id=f"run-{n:06d}",
            main_task_id=f"task-{n // 10}",
            agent="bench-agent",
            model="bench-model",
            estimated_cost_usd=ESTIMATE,
            created_by="bench",
        )
        for n in range(args.runs)
    ]
    AgentRun.objects.bulk_create(runs, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {AgentRun._meta.db_table}")
    # (run number, its tenant's key index) for every run, in the order the clients take them.
    order = [(n, n % len(tenants)) for n in range(args.runs)]
    return tenants, keys, order


def calls_of(run: int) -> list[tuple[str, str]]:
    """The run's calls: (kind, the cost its spend report gives, for an llm_call)."""
    cost = "0.20" if run % COSTLY_EVERY == 7 else "0.04"
    calls = [(kind, cost if kind == "llm_call" else "") for kind in SCRIPT]
    if run % HAMMERED_EVERY == 3:
        calls += [("step", ""), ("step", "")]
    return calls


class Queue:
    """Every client takes the next call from here. The runs are played `width` at a time, their
    calls interleaved (the first call of each, then the second of each, …): the calls in flight
    are on many runs, yet one run's calls go to whichever clients are free and can overlap."""

    def __init__(self, order: list[tuple[int, int]], keys: list[str], width: int):
        self.lock = threading.Lock()
        self.calls = self._interleaved(order, keys, width)
        self.runs: set[int] = set()

    @staticmethod
    def _interleaved(order, keys, width):
        for start in range(0, len(order), width):
            block = [
                (run, f"Bearer {keys[key]}", calls_of(run)) for run, key in order[start:][:width]
            ]
            for turn in range(max(len(calls) for _run, _key, calls in block)):
                for run, authorization, calls in block:
                    if turn < len(calls):
                        yield (run, authorization, *calls[turn])

    def next(self):
        with self.lock:
            call = next(self.calls, None)
            if call is not None:
                self.runs.add(call[0])
            return call


def gate_work(queue: Queue):
    def work(client: _http.Client, _number: int, running) -> None:
        while running():
            call = queue.next()
            if call is None:
                return
            run, authorization, kind, cost = call
            headers = {"Authorization": authorization}
            path = f"/api/v1/runs/run-{run:06d}"
            body = {"kind": kind, **({"expected_cost_usd": EXPECTED} if kind == "llm_call" else {})}
            status, answer = client.send("gate", f"{path}/gate", body, headers)
            if status == 200 and kind == "llm_call":
                spend = {
                    "input_tokens": 1200,
                    "output_tokens": 300,
                    "cost_usd": cost,
                    "reservation": answer["reservation"],
                }
                client.send("spend", f"{path}/spend", spend, headers)

    return work


def floor_table_reset() -> None:
    from _served_urls import FLOOR_ROWS, FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id integer PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute(
            f"INSERT INTO {FLOOR_TABLE} SELECT g, 0 FROM generate_series(0, %s) g", [FLOOR_ROWS - 1]
        )


def floor_work(client: _http.Client, number: int, running) -> None:
    """The floor's client: like a gate call, one row of many per request."""
    row = number * 7919
    while running():
        row += 1
        client.send("floor", "/bench/floor", {"kind": "step", "row": row})


# --- After the load: overshoots and the count ------------------------------------------------
OVER_CEILING_SQL = """
SELECT count(*) FROM agents_agentrun r JOIN tenants_tenantpolicy p ON p.tenant_id = r.tenant_id
WHERE r.tool_rounds > p.tool_rounds_max OR r.qc_corrections > p.qc_correction_max
   OR r.orchestrator_retries > p.orchestrator_retry_max
   OR r.global_steps > p.global_steps_per_run_id_max
"""
PAST_THE_LINE_SQL = """
SELECT count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM approvals_ticket t
           WHERE t.tenant_id = r.tenant_id AND t.type = 'A9' AND t.run_id = r.run_id)),
       count(*)
FROM agents_agentrun r JOIN tenants_tenantpolicy p ON p.tenant_id = r.tenant_id
WHERE r.actual_cost_usd >= r.estimated_cost_usd * p.trip_multiplier
"""


def overshoots() -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(OVER_CEILING_SQL)
        (over_ceiling,) = cursor.fetchone()
        cursor.execute(PAST_THE_LINE_SQL)
        without_a9, past_the_line = cursor.fetchone()
    return over_ceiling, without_a9, past_the_line


def check_counts(load: _http.Load) -> str:
    """Every allowed gate call is counted once on its run and logged once."""
    gate = load.figures.get("gate", _http.Figures())
    allowed = gate.statuses.get(200, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(global_steps + llm_calls), 0) FROM agents_agentrun")
        (counted,) = cursor.fetchone()
    logged = GateCall.objects.filter(allowed=True).count()
    # The warm-up's calls are not in the load's figures: count them in from the log.
    return f"{counted:,} steps and calls counted on the runs, {logged:,} allowed calls logged" + (
        "" if counted == logged and allowed <= logged else "  (MISMATCH)"
    )


# --- Where the time goes ---------------------------------------------------------------------
class SqlTimer:
    def __init__(self):
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def per_call(samples: int, call) -> float:
    call()
    started = time.perf_counter()
    for _ in range(samples):
        call()
    return (time.perf_counter() - started) / samples * 1000


def breakdown(args, server, tenants, keys, first_free_run: int) -> None:
    tenant = tenants[0]
    runs = [n for n in range(first_free_run, args.runs) if n % len(tenants) == 0]
    pool = iter(runs)
    state = {"run": next(pool), "uses": 0}

    def fresh_run() -> str:
        if state["uses"] == 8:
            state["run"], state["uses"] = next(pool), 0
        state["uses"] += 1
        return f"run-{state['run']:06d}"

    run_pks = dict(AgentRun.objects.filter(tenant=tenant).values_list("run_id", "pk"))
    figures = {}

    def bare_update():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agents_agentrun SET steps = steps + 1 WHERE id = %s",
                [run_pks[fresh_run()]],
            )

    figures["bare UPDATE of the run's row (autocommit)"] = per_call(args.samples, bare_update)

    def gate_sql():
        params = {"now": timezone.now(), "tenant": tenant.pk, "run_id": fresh_run(), "expected": 0}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_COUNTING_SQL["step"], params)
            row = cursor.fetchone()
            GateCall.objects.create(run_id=row[0], kind="step", allowed=True, global_steps=row[5])

    figures["the gate's SQL (its UPDATE + the log INSERT, one transaction)"] = per_call(
        args.samples, gate_sql
    )

    timer = SqlTimer()

    def service():
        with connection.execute_wrapper(timer):
            answer = run_gate(tenant=tenant, run_id=fresh_run(), kind="step")
        assert answer.allowed

    timer_start = (timer.seconds, timer.queries)
    service_ms = per_call(args.samples, service)
    sql_ms = (timer.seconds - timer_start[0]) / (args.samples + 1) * 1000
    queries = (timer.queries - timer_start[1]) / (args.samples + 1)
    figures["run_gate() (the service)"] = service_ms
    figures["the key lookup (agent_key_authenticate)"] = per_call(
        args.samples, lambda: agent_key_authenticate(keys[0])
    )
    # With CONN_HEALTH_CHECKS a reused connection is checked (SELECT 1) before its first query
    # in each request: one more round trip per request.
    figures["the connection's health check (SELECT 1, once a request)"] = per_call(
        args.samples, connection.is_usable
    )
    # As served (bench/_served_settings.py): the load's calls already counted against the
    # keys' per-minute limit must not refuse these.
    served = override_settings(
        ROOT_URLCONF="_served_urls", ALLOWED_HOSTS=["testserver"], API_RATE_LIMIT="1000000000/60s"
    )
    django_client = DjangoClient()
    authorization = f"Bearer {keys[0]}"
    with served:

        def in_process():
            response = django_client.post(
                f"/api/v1/runs/{fresh_run()}/gate",
                {"kind": "step"},
                content_type="application/json",
                headers={"authorization": authorization},
                secure=True,
            )
            assert response.status_code == 200, response.content

        def ping_in_process():
            response = django_client.post(
                _http.PING, {"kind": "step"}, content_type="application/json", secure=True
            )
            assert response.status_code == 200

        figures["the request in-process (middleware, key, django-ninja, run_gate)"] = per_call(
            args.samples, in_process
        )
        figures["  trivial view in-process"] = per_call(args.samples, ping_in_process)

    http_client = _http.Client(server.port, defaultdict(_http.Figures), Counter())

    def over_http():
        status, _ = http_client.send(
            "gate",
            f"/api/v1/runs/{fresh_run()}/gate",
            {"kind": "step"},
            {"Authorization": authorization},
        )
        assert status == 200, status

    def ping_over_http():
        http_client.send("ping", _http.PING, {"kind": "step"})

    figures["one request over HTTP (gunicorn, loopback, one client)"] = per_call(
        args.samples, over_http
    )
    figures["  trivial view over HTTP"] = per_call(args.samples, ping_over_http)

    print(f"\nwhere a gate call's time goes (one at a time, ms per call, {args.samples} calls):")
    for name, ms in figures.items():
        print(f"    {name:66} {ms:6.2f} ms")
    print(
        f"    of run_gate(): {queries:.0f} statements ({sql_ms:.2f} ms waiting on PostgreSQL, "
        f"{service_ms - sql_ms:.2f} ms of Python)"
    )


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    tenants, keys, order = make_world(args)
    print(
        f"set-up: {args.runs:,} runs in {args.tenants} tenants with one agent key each "
        f"({time.perf_counter() - started:.1f} s)"
    )
    floor_table_reset()
    queue = Queue(order, keys, width=4 * args.clients)
    with _http.gunicorn(workers=args.workers) as server:
        load_before = _http.load_average()
        ping = _http.drive(
            server,
            clients=args.clients,
            seconds=args.seconds,
            warm_up=args.warm_up,
            work=_http.ping_work,
        )
        floor = _http.drive(
            server,
            clients=args.clients,
            seconds=args.seconds,
            warm_up=args.warm_up,
            work=floor_work,
        )
        gate = _http.drive(
            server,
            clients=args.clients,
            seconds=args.seconds,
            warm_up=args.warm_up,
            work=gate_work(queue),
        )
        load_after = _http.load_average()
        print(
            f"\n{args.clients} clients, {args.seconds:g} s each, gunicorn {args.workers} workers "
            f"(load average {load_before} before, {load_after} after)"
        )
        print(f"    trivial JSON view  {_http.describe(ping, 'ping')}")
        print(f"    floor (1 UPDATE)   {_http.describe(floor, 'floor')}")
        print(f"    gate calls         {_http.describe(gate, 'gate')}")
        print(f"    spend reports      {_http.describe(gate, 'spend')}")
        api_rate = gate.rate("gate", "spend")
        ratio = api_rate / ping.rate("ping")
        print(
            f"    API requests served {api_rate:.1f}/s = {ratio:.0%} of the trivial view's "
            f"{ping.rate('ping'):.1f}/s (aim ≥ 50 %: {'met' if ratio >= 0.5 else 'MISSED'}); "
            f"gate calls alone {gate.rate('gate') / ping.rate('ping'):.0%}"
        )
        floor_ratio = api_rate / floor.rate("floor")
        p99 = gate.figures["gate"].percentile(0.99) if "gate" in gate.figures else 0.0
        print(
            f"    against the floor's {floor.rate('floor'):.1f}/s: API {floor_ratio:.0%}, "
            f"gate calls alone {gate.rate('gate') / floor.rate('floor'):.0%} (aim ≥ 70 %: "
            f"{'met' if floor_ratio >= 0.7 else 'MISSED'}); gate p99 {p99:.1f} ms (aim < 100 ms: "
            f"{'met' if p99 < 100 else 'MISSED'})"
        )
        if gate.errors or ping.errors or floor.errors:
            print(f"    connection errors: {dict(gate.errors + ping.errors)}")
        if queue.next() is None:
            print("    (every run was used up before the time was: raise --runs)")

        over_ceiling, without_a9, past_the_line = overshoots()
        a8 = Ticket.objects.filter(type="A8").count()
        a9 = Ticket.objects.filter(type="A9").count()
        print(
            f"overshoots: {over_ceiling} runs over a ceiling, {without_a9} of {past_the_line} "
            f"runs at or past the trip line without an A9 ({len(queue.runs):,} runs played; "
            f"{a8} A8 and {a9} A9 opened)"
        )
        print(f"    {check_counts(gate)}")
        breakdown(args, server, tenants, keys, first_free_run=max(queue.runs, default=-1) + 1)
    if over_ceiling or without_a9:
        raise SystemExit("the gate overshot")


if __name__ == "__main__":
    main(ARGS)
