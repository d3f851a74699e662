"""Load test: locust against gunicorn + PostgreSQL + a django-q2 cluster, on loopback, for a
bounded time, mixing dashboard reads, track reads, agent runs with their gate calls, change sets
and ticket decisions (an operator approving A3s in the dashboard, as htmx posts them); then the
books are balanced.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/load.py [--quick]

Each run recreates its own database (bench_ht_load, bench/_setup.py) with one tenant, a planner
(whose session reads the dashboard) and, per locust user, an agent key and a track of its own with
an approved plan and a live manifest (bench/_locustfile.py says what each user does), and an
operator (whose session decides) with open A3 tickets for each user to approve.

Printed: per request kind, the requests, failures, requests per second and p50/p95/p99 latency
(locust's figures). Then, per kind of write, locust's successes = the access log's 2xx = the rows
written = the audit events (runs: AgentRun rows and run.created events; gate calls: GateCall rows
allowed; change sets: applied ChangeSet rows and change_set.proposed events; decisions: approved
tickets and ticket.approved events), dashboard reads =
the access log's 200s, and verify_audit clean. Any mismatch, failure or error exits non-zero.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from io import StringIO
from pathlib import Path

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--users", type=int, default=8, help="locust users (each an agent)")
parser.add_argument("--seconds", type=int, default=30, help="how long locust runs (bounded)")
parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
parser.add_argument(
    "--tickets", type=int, default=150, help="open A3 tickets per user, for its decisions"
)
ARGS = _setup.arguments(parser, quick={"users": 3, "seconds": 5, "tickets": 30})
DATABASE = _setup.django_on_bench_db("load", fresh=True)

import _http  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from agents.models import AgentRun, GateCall  # noqa: E402
from agents.services import agent_key_create  # noqa: E402
from approvals.models import Ticket  # noqa: E402
from approvals.services import ticket_open  # noqa: E402
from audit.actors import Actor  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from optimization.models import ChangeSet  # noqa: E402
from optimization.services import manifest_sync  # noqa: E402
from plans.services import plan_version_import_approved  # noqa: E402
from tenants.models import Role  # noqa: E402
from tenants.services import membership_set, tenant_create, user_ensure  # noqa: E402

BENCH = Path(__file__).resolve().parent
ACTOR = Actor.system("bench")
TRACKS = ["always_on", "branding", "engagement"] + [f"event_e{n:03d}" for n in range(100)]
KINDS = {"always_on": "initial", "branding": "track_draft", "engagement": "track_draft"}
ENTITIES = {
    "search": [("search-1", "300.00"), ("search-2", "200.00")],
    "social": [("social-1", "200.00")],
}
PLATFORM = {"search": "google_ads", "social": "meta"}


def plan_payload() -> dict:
    flight = {"start": "2026-01-01", "end": "2030-12-31"}
    days = 1826
    return {
        "objective": "purchases",
        "primary_kpi": "cpa",
        "kpi_targets": {"cpa": 40},
        "geos": ["DE"],
        "currency": "EUR",
        "start": flight["start"],
        "end": flight["end"],
        "channels": [
            {
                "channel": channel,
                "platform": PLATFORM[channel],
                "budget": daily * days,
                "flights": [{**flight, "budget": daily * days}],
            }
            for channel, daily in (("search", 500), ("social", 200))
        ],
        "creative_themes": [],
        "messaging": "",
    }


def world(users: int, tickets: int) -> dict:
    tenant = tenant_create(
        slug="load",
        name="Load test",
        vertical="retail",
        country="DE",
        time_zone="Europe/Berlin",
        actor=ACTOR,
        policy={"client_must_approve_budget_increase": False},
    )
    planner = user_ensure(username="load-planner", password="load-pass-2026")
    membership_set(tenant=tenant, user=planner, role=Role.PLANNER, actor=ACTOR)
    browser = DjangoClient()
    browser.force_login(planner)
    operator = user_ensure(username="load-operator", password="load-pass-2026")
    membership_set(tenant=tenant, user=operator, role=Role.OPERATOR, actor=ACTOR)
    operator_browser = DjangoClient()
    operator_browser.force_login(operator)
    agents = []
    for number in range(users):
        track = TRACKS[number]
        plan_version_import_approved(
            tenant=tenant,
            track_key=track,
            kind=KINDS.get(track, "event_draft"),
            payload=plan_payload(),
            actor=ACTOR,
            approved_by="bench",
        )
        entities = {}
        for channel, members in ENTITIES.items():
            for name, budget in members:
                entities[f"{name}-a{number}"] = (channel, budget)
        manifest_sync(
            tenant=tenant,
            track_key=track,
            entries=[
                {
                    "platform": PLATFORM[channel],
                    "entity_id": entity,
                    "channel": channel,
                    "plan_version": number + 1,
                    "state": {"daily_budget": budget, "status": "active"},
                }
                for entity, (channel, budget) in entities.items()
            ],
            actor=ACTOR,
            launched_by="bench",  # a world imported already live, like the seed's
        )
        _key, plain = agent_key_create(tenant=tenant, name=f"load-{number}", actor=ACTOR)
        agents.append(
            {
                "number": number,
                "key": plain,
                "track": track,
                "entities": {e: b for e, (_c, b) in entities.items()},
                "channels": list(ENTITIES),
                "by_channel": {
                    c: [e for e, (ch, _b) in entities.items() if ch == c] for c in ENTITIES
                },
                # Guardrail breaches the system opened about no subject: the operator's to decide.
                "tickets": [
                    ticket_open(
                        tenant=tenant, type="A3", actor=ACTOR, title=f"Breach {number}-{n}"
                    ).public_id
                    for n in range(tickets)
                ],
            }
        )
    return {
        "agents": agents,
        "session": browser.cookies["sessionid"].value,
        "operator_session": operator_browser.cookies["sessionid"].value,
        # A CSRF secret the locust users send as cookie and header, as a browser's htmx does.
        "csrf": get_random_string(32),
    }


def served(workers: int, access_log: str, static_root: str):
    """gunicorn (production settings, access log of method, path and status) and a cluster."""
    environment = {
        **os.environ,
        "STATIC_ROOT": static_root,
        # Production settings with unhashed static files (no collectstatic): bench/_load_settings.py
        "DJANGO_SETTINGS_MODULE": "_load_settings",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(_setup.ROOT)]),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        # The planner's session was signed here: the server must read it with the same key.
        "SECRET_KEY": settings.SECRET_KEY,
        "API_RATE_LIMIT": "1000000/60s",
        "LOG_LEVEL": "WARNING",
    }
    port = _http.free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            f"--chdir={_setup.ROOT}",
            "--backlog=2048",
            f"--access-logfile={access_log}",
            "--access-logformat=%(m)s %(U)s %(s)s",
            "--log-level=warning",
        ],
        env=environment,
        start_new_session=True,
    )
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=_setup.ROOT,
        env={**environment, "Q_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return port, web, cluster


def wait_up(port: int, web) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited ({web.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/accounts/login/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()

    def phase(what: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f} s] {what}", flush=True)

    spec = world(args.users, args.tickets)
    phase(
        f"set-up: a tenant, a planner, an operator, {args.users} agents with tracks, plans, "
        f"manifests and {args.tickets} open A3s each"
    )
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (work / "spec.json").write_text(json.dumps(spec))
    access_log = work / "access.log"
    port, web, cluster = served(args.workers, str(access_log), str(work / "static"))
    phase("gunicorn and the cluster starting")
    try:
        wait_up(port, web)
        phase("gunicorn answers; locust runs")
        access_log.write_text("")  # the readiness probes are not the load
        locust = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(BENCH / "_locustfile.py"),
                "--headless",
                f"--users={args.users}",
                f"--spawn-rate={args.users}",
                f"--run-time={args.seconds}s",
                f"--host=http://127.0.0.1:{port}",
                f"--csv={work / 'locust'}",
                "--only-summary",
                "--loglevel=WARNING",
                "--stop-timeout=10",
            ],
            env={
                **os.environ,
                "LOAD_SPEC": str(work / "spec.json"),
                "LOAD_SUCCESSES": str(work / "successes.json"),
            },
            capture_output=True,
            text=True,
        )
        phase("locust done")
    finally:
        stop(web)
        stop(cluster)
    phase("gunicorn and the cluster stopped")
    rows = list(csv.DictReader((work / "locust_stats.csv").open()))
    print(f"\nlocust: {args.users} users, {args.seconds} s, gunicorn {args.workers} workers")
    header = ("kind", "requests", "failures", "req/s", "p50", "p95", "p99")
    print("    {:<12} {:>8} {:>8} {:>7} {:>6} {:>6} {:>6}  (ms)".format(*header))
    stats = {}
    for row in rows:
        stats[row["Name"]] = row
        print(
            f"    {row['Name']:<12} {row['Request Count']:>8} {row['Failure Count']:>8} "
            f"{float(row['Requests/s']):>7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
        )
    wrong = []
    if locust.returncode not in (0, 1):
        wrong.append(f"locust exited {locust.returncode}: {locust.stderr[-2000:]}")
    failures = (work / "locust_failures.csv").read_text().strip().splitlines()[1:]
    if failures:
        wrong.append("locust failures:\n" + "\n".join(failures[:10]))

    successes = json.loads((work / "successes.json").read_text())

    def ok(name: str) -> int:
        return successes.get(name, 0)

    log = Counter()
    for line in access_log.read_text().splitlines():
        method, path, status = line.split()
        kind = (
            "run"
            if path == "/api/v1/runs"
            else "gate"
            if path.endswith("/gate")
            else "change set"
            if path == "/api/v1/change-sets"
            else "dashboard"
            if path == "/"
            else "track read"
            if path.endswith("/current")
            else "decision"
            if path.endswith("/decide/")
            else path
        )
        log[(kind, status.startswith("2"))] += 1
    events = Counter(AuditEvent.objects.filter(id__gt=last_event).values_list("action", flat=True))
    books = {
        "run": (ok("run"), log[("run", True)], AgentRun.objects.count(), events["run.created"]),
        "gate": (
            ok("gate"),
            log[("gate", True)],
            GateCall.objects.filter(allowed=True).count(),
            None,
        ),
        "change set": (
            ok("change set"),
            log[("change set", True)],
            ChangeSet.objects.filter(status="applied").count(),
            events["change_set.proposed"],
        ),
        "decision": (
            ok("decision"),
            log[("decision", True)],
            Ticket.objects.filter(status="approved").count(),
            events["ticket.approved"],
        ),
        "dashboard": (ok("dashboard"), log[("dashboard", True)], None, None),
        "track read": (ok("track read"), log[("track read", True)], None, None),
    }
    print("\nbooks: locust successes = access log 2xx = rows written = audit events")
    for kind, figures in books.items():
        shown = " = ".join("-" if f is None else str(f) for f in figures)
        same = len({f for f in figures if f is not None}) == 1
        print(f"    {kind:<12} {shown}{'' if same else '   MISMATCH'}")
        if not same:
            wrong.append(f"{kind}: {figures}")
    not_2xx = {k: n for (k, good), n in log.items() if not good}
    if not_2xx:
        wrong.append(f"answers that were not 2xx: {not_2xx}")
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=out)
        said = out.getvalue().strip().splitlines()
        print(f"verify_audit: {said[-1] if said else 'clean'}")
    except SystemExit as exc:
        wrong.append(f"verify_audit failed ({exc.code}): {out.getvalue()[-1000:]}")
    if wrong:
        raise SystemExit("\n".join(wrong))


if __name__ == "__main__":
    main(ARGS)
