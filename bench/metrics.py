"""The ops metrics page over one year of one tenant's data (aim: ≤ 1.5× its bare queries, and
under 500 ms): 100,000 tickets, 1,000,000 QC results and 1,000,000 change-set items.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/metrics.py

Each run recreates its own bench_ht_metrics database (bench/_setup.py migrates it) and writes the
year server-side (INSERT … SELECT generate_series), spread evenly over the 365 days before now:
tickets of every type (approved, open past and within their SLA, rejected, cancelled, A6
overrides) with their approvals; 50,000 runs with their QC results, correction loops (failure
codes, depths) and A8s; QC alerts, some recovered; change sets of four daily-budget items each
(applied within the guardrails, approved by a person, waiting, rejected, blocked, rolled back),
A3 ones carrying the guardrail check per channel.

Then, for the page's default range (the last 28 days against the 28 before) and for the whole
year against the year before:
- page: the Django test Client in-process (middleware, session, auth, the 13 metrics, the SVG
  charts and the template), warmed up, median of many requests;
- bare: the very SQL statements that page ran for its metrics (captured from one request), run
  one after the other on a cursor and fetched, median of as many runs;
and prints page, bare and page / bare from this one run.

With the rollups (issue 21.5): after writing the year the bench refreshes the four daily rollups
as their schedules would (QC results, runs, tickets, change sets; docs/scale.md), measures the
page reading them (aims: default range < 150 ms, the whole year < 300 ms), then, as this run's
baseline, the same page with every fact read raw, and prints rollups / raw.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tickets", type=int, default=100_000)
parser.add_argument("--qc-results", type=int, default=1_000_000)
parser.add_argument("--items", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=50_000)
parser.add_argument("--iterations", type=int, default=15)
parser.add_argument(
    "--reuse", action="store_true", help="measure the year the last run wrote, without rewriting it"
)
ARGS = _setup.arguments(
    parser,
    quick={"tickets": 1_000, "qc_results": 10_000, "items": 10_000, "runs": 500, "iterations": 3},
)
_setup.django_on_bench_db("metrics", fresh=not ARGS.reuse)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from agents.models import RollupWatermark  # noqa: E402
from agents.services.rollups import qc_rollups_refresh, run_rollups_refresh  # noqa: E402
from approvals.models import TicketRollupMark  # noqa: E402
from approvals.services.rollups import ticket_rollups_refresh  # noqa: E402
from audit.actors import Actor  # noqa: E402
from config.sql import read_session  # noqa: E402
from optimization.models import ChangeSetRollupMark  # noqa: E402
from optimization.services.rollups import change_set_rollups_refresh  # noqa: E402
from plans.services import plan_version_import_approved  # noqa: E402
from tenants.models import Role  # noqa: E402
from tenants.services import membership_set, tenant_create, user_ensure  # noqa: E402

ACTOR = Actor.system("bench")
PASSWORD = "bench-pass-2026"
YEAR = "interval '365 days'"
PLAN = {
    "objective": "purchases",
    "primary_kpi": "cpa",
    "kpi_targets": {"cpa": 40},
    "geos": ["DE"],
    "currency": "EUR",
    "start": "2026-01-01",
    "end": "2026-12-31",
    "channels": [
        {
            "channel": "search",
            "platform": "google_ads",
            "budget": 120000,
            "flights": [{"start": "2026-01-01", "end": "2026-12-31", "budget": 120000}],
        }
    ],
    "creative_themes": ["always on"],
    "messaging": "Bench.",
}


def execute(sql: str, params: dict) -> None:
    # The statements use % as SQL's modulo: escape it for the driver, keeping %(name)s.
    with connection.cursor() as cursor:
        cursor.execute(re.sub(r"%(?!\()", "%%", sql), params)


def make_world():
    tenant = tenant_create(
        slug="metrics-bench",
        name="Metrics bench",
        vertical="retail",
        country="DE",
        time_zone="Europe/Berlin",
        actor=ACTOR,
    )
    admin = user_ensure(username="metrics-admin", password=PASSWORD)
    membership_set(tenant=tenant, user=admin, role=Role.ADMIN, actor=ACTOR)
    version = plan_version_import_approved(
        tenant=tenant,
        track_key="always_on",
        kind="initial",
        payload=PLAN,
        actor=ACTOR,
        approved_by="bench",
    )
    return tenant, admin, version.track_id


def write_year(tenant_id: int, user_id: int, track_id: int) -> None:
    p = {
        "tenant": tenant_id,
        "user": user_id,
        "track": track_id,
        "tickets": ARGS.tickets,
        "runs": ARGS.runs,
        "qc": ARGS.qc_results,
        "change_sets": max(ARGS.items // 4, 1),
    }
    # Tickets: g's type is A1…A9 in turn; 70% approved, 10% open, 10% rejected, 5% changes
    # requested, 5% cancelled; decided within 0–96 hours; due one day after opening.
    execute(
        f"""
        INSERT INTO approvals_ticket (
            public_id, tenant_id, type, status, title, summary, diff, subject_type, subject_id,
            plan_version, change_set_id, run_id, platform, requesting_agent, opened_by,
            opened_by_type, required_roles, client_visible, red_flag, sla_kind, sla_due_at,
            overdue_at, escalation_level, dedupe_key, created_at, updated_at, resolved_at,
            resolved_by_label, resolution_note)
        SELECT 'B' || g, %(tenant)s, t.type,
               CASE WHEN g % 20 < 14 THEN 'approved' WHEN g % 20 < 16 THEN 'open'
                    WHEN g % 20 < 18 THEN 'rejected' WHEN g % 20 = 18 THEN 'changes_requested'
                    ELSE 'cancelled' END,
               'Ticket ' || g, '', '{{}}'::jsonb, '', '', NULL, '', '', 'google_ads',
               'optimizer', 'bench', 'service',
               CASE WHEN t.type = 'A7' THEN '["planner", "legal"]'::jsonb
                    WHEN t.type IN ('A3', 'A8', 'A9') THEN '["operator/admin"]'::jsonb
                    ELSE '["planner"]'::jsonb END,
               false, NULL, 'approval', t.opened + interval '1 day', NULL, 0, '',
               t.opened, t.opened,
               CASE WHEN g % 20 BETWEEN 14 AND 15 THEN NULL
                    ELSE t.opened + (g % 97) * interval '1 hour' END,
               '', ''
        FROM generate_series(1, %(tickets)s) g,
        LATERAL (SELECT (ARRAY['A1','A2','A3','A4','A5','A6','A7','A8','A9'])[1 + g % 9] AS type,
                        now() - {YEAR} + (g::float / %(tickets)s) * {YEAR} AS opened) t
        """,
        p,
    )
    execute(
        """
        INSERT INTO approvals_ticketdecision (ticket_id, user_id, role, slot, verdict, comment,
                                              created_at)
        SELECT id, %(user)s, 'planner', required_roles ->> 0, 'approve', '', resolved_at
        FROM approvals_ticket WHERE tenant_id = %(tenant)s AND status = 'approved'
        """,
        p,
    )
    # Runs, one in 20 with an A8; five correction loops each; QC results over the runs.
    execute(
        f"""
        INSERT INTO agents_agentrun (
            tenant_id, run_id, main_task_id, agent, model, estimated_cost_usd, actual_cost_usd,
            reserved_usd, input_tokens, output_tokens, steps, tool_rounds, qc_corrections,
            orchestrator_retries, global_steps, llm_calls, ended, loop_block, cost_block,
            loop_ticket, cost_ticket, created_by, created_at, updated_at)
        SELECT %(tenant)s, 'run-' || g, 'task-' || (g % 40), 'agent-' || (g % 6),
               'model-' || (g % 3), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, true, '', false,
               CASE WHEN g % 20 = 0 THEN 'B' || (9 * (g % 10000) + 8) ELSE '' END, '', 'bench',
               now() - {YEAR} + (g::float / %(runs)s) * {YEAR},
               now() - {YEAR} + (g::float / %(runs)s) * {YEAR}
        FROM generate_series(1, %(runs)s) g
        """,
        p,
    )
    execute(
        """
        INSERT INTO agents_qcloop (run_id, subtask_id, attempts, passed, failure_codes, updated_at)
        SELECT r.id, 's' || s, 1 + (r.id + s) % 5, (r.id + s) % 5 < 4,
               CASE WHEN (r.id + s) % 5 = 0 THEN '[]'::jsonb
                    ELSE jsonb_build_array('code-' || ((r.id * s) % 12)) END,
               r.created_at
        FROM agents_agentrun r, generate_series(1, 5) s WHERE r.tenant_id = %(tenant)s
        """,
        p,
    )
    execute(
        """
        INSERT INTO agents_qcresult (tenant_id, run_id, main_task_id, subtask_id, agent, model,
                                     passed, failure_codes, attempt, created_at)
        SELECT %(tenant)s, r.id, r.main_task_id, 's' || (g % 5 + 1), r.agent, r.model,
               g % 5 <> 0,
               CASE WHEN g % 5 <> 0 THEN '[]'::jsonb
                    ELSE jsonb_build_array('code-' || (g % 12)) END,
               1 + g % 3, r.created_at + (g % 60) * interval '1 minute'
        FROM generate_series(1, %(qc)s) g
        JOIN agents_agentrun r
          ON r.tenant_id = %(tenant)s AND r.run_id = 'run-' || (1 + g % %(runs)s)
        """,
        p,
    )
    execute(
        f"""
        INSERT INTO agents_qcalert (tenant_id, main_task_id, subtask_id, success_rate, sample,
                                    floor, opened_at, recovered_at, recovered_rate)
        SELECT %(tenant)s, 'task-' || g, CASE WHEN g % 3 = 0 THEN '' ELSE 's' || g END, 0.5, 20,
               0.8, now() - {YEAR} + (g::float / 2000) * {YEAR},
               CASE WHEN g % 4 = 0 THEN NULL
                    ELSE now() - {YEAR} + (g::float / 2000) * {YEAR}
                         + (g % 30) * interval '1 hour' END,
               CASE WHEN g % 4 = 0 THEN NULL ELSE 0.85 END
        FROM generate_series(1, 2000) g
        """,
        p,
    )
    # Change sets: 70% applied within the guardrails, 10% approved by a person (A3), 1% sent for
    # approval (still waiting if from the last two days, the policy's a3_lapse_days, else
    # lapsed), 4% rejected, 5% blocked, the rest lapsed; A3 ones carry their guardrail check.
    execute(
        f"""
        INSERT INTO optimization_changeset (
            tenant_id, change_set_id, track_id, run_id, agent, reason, kind, status, path,
            status_reason, guardrails, ticket, reverts_id, created_by, created_at, decided_at,
            applied_at)
        SELECT %(tenant)s, 'cs-' || g, %(track)s, 'run-' || (1 + g % %(runs)s), 'optimizer', '',
               'agent', c.status, 'optimization', '',
               CASE WHEN c.person THEN jsonb_build_object(
                   'channels', jsonb_build_array(jsonb_build_object(
                       'channel', 'search', 'move_pct', (10 + g % 40)::text || '.50',
                       'move_ok', false, 'drift_ok', g % 7 <> 0)),
                   'first_launches', '[]'::jsonb)
                    ELSE '{{}}'::jsonb END,
               CASE WHEN c.person THEN 'B' || (9 * (g % 11000) + 3) ELSE '' END,
               NULL, 'bench', c.created,
               CASE WHEN c.person AND c.status <> 'pending_approval'
                    THEN c.created + (g % 48) * interval '1 hour' END,
               CASE WHEN c.status = 'applied'
                    THEN c.created + (CASE WHEN c.person THEN g % 48 ELSE 0 END) * interval '1 hour'
               END
        FROM generate_series(1, %(change_sets)s) g,
        LATERAL (SELECT now() - {YEAR} + (g::float / %(change_sets)s) * {YEAR} AS created,
                        CASE WHEN g % 100 < 70 THEN 'applied' WHEN g % 100 < 80 THEN 'applied'
                             WHEN g % 100 < 81 AND g > %(change_sets)s * 363 / 365
                             THEN 'pending_approval'
                             WHEN g % 100 < 81 THEN 'lapsed'
                             WHEN g % 100 < 85 THEN 'rejected' WHEN g % 100 < 90 THEN 'blocked'
                             ELSE 'lapsed' END AS status,
                        g % 100 BETWEEN 70 AND 84 AS person) c
        """,
        p,
    )
    execute(
        """
        INSERT INTO optimization_changesetitem (change_set_id, position, manifest_entry_id,
                                                entity_id, channel, field, before, after)
        SELECT cs.id, i, NULL, 'entity-' || i, 'search', 'daily_budget',
               to_jsonb((100 + i * 10)::text || '.00'), to_jsonb((110 + i * 10)::text || '.00')
        FROM optimization_changeset cs, generate_series(0, 3) i WHERE cs.tenant_id = %(tenant)s
        """,
        p,
    )
    # One in 50 applied change sets is rolled back a day or two later.
    execute(
        """
        INSERT INTO optimization_changeset (
            tenant_id, change_set_id, track_id, run_id, agent, reason, kind, status, path,
            status_reason, guardrails, ticket, reverts_id, created_by, created_at, decided_at,
            applied_at)
        SELECT tenant_id, 'rb-' || change_set_id, track_id, '', '', 'rollback', 'rollback',
               'applied', 'optimization', '', '{}'::jsonb, '', id, 'bench',
               applied_at + interval '30 hours', NULL, applied_at + interval '30 hours'
        FROM optimization_changeset
        WHERE tenant_id = %(tenant)s AND status = 'applied' AND id % 50 = 0
        """,
        p,
    )
    execute("ANALYZE", {})


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(client: Client, url: str, query: dict, iterations: int) -> tuple[float, float, int]:
    for _ in range(2):  # warm up
        client.get(url, query)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200, response.status_code
    # The metrics' own statements: everything but the session, user and membership reads, and
    # the transaction and SET LOCAL of config.sql.read_session, which the bare run does too.
    skipped = ("django_session", "auth_user", "tenants_membership")
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().startswith(("SELECT", "WITH"))
        and not any(word in q["sql"] for word in skipped)
    ]
    pages, bares = [], []
    for _ in range(iterations):
        started = time.perf_counter()
        client.get(url, query)
        pages.append(time.perf_counter() - started)
        started = time.perf_counter()
        with read_session(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()
        bares.append(time.perf_counter() - started)
    return median_ms(pages), median_ms(bares), len(statements)


def main() -> None:
    started = time.perf_counter()
    if ARGS.reuse:
        from tenants.models import Tenant

        tenant = Tenant.objects.get(slug="metrics-bench")
        admin = user_ensure(username="metrics-admin", password=PASSWORD)
    else:
        tenant, admin, track_id = make_world()
        write_year(tenant.pk, admin.pk, track_id)
    print(
        f"one year of {tenant.slug}: {ARGS.tickets:,} tickets, {ARGS.qc_results:,} QC results "
        f"(asked), {ARGS.items:,} change-set items, {ARGS.runs:,} runs "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    # Served as the test client asks (plain HTTP, its host name, no manifest of collected files).
    served = override_settings(
        ALLOWED_HOSTS=["testserver"],
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    served.enable()
    client = Client()
    client.force_login(admin)
    url = reverse("metrics:tenant", args=[tenant.slug])
    today = timezone.localdate()
    ranges = {
        "last 28 days (default)": {},
        "last 365 days": {
            "start": (today - timezone.timedelta(days=364)).isoformat(),
            "end": today.isoformat(),
        },
    }
    # The rollups as the schedule keeps them (two refreshes: the second re-reads what the first
    # saw, as every refresh does), then the page with them and, as this run's baseline, without.
    refreshes = [
        ("QC", qc_rollups_refresh),
        ("run", run_rollups_refresh),
        ("ticket", ticket_rollups_refresh),
        ("change-set", change_set_rollups_refresh),
    ]
    for name, refresh in refreshes:
        started = time.perf_counter()
        refresh()
        first = time.perf_counter() - started
        started = time.perf_counter()
        refresh()
        print(
            f"{name} rollup refresh: first {first:.1f} s (the whole year), "
            f"next {time.perf_counter() - started:.1f} s (re-reads what the first saw)"
        )
    rolled = {label: measure(client, url, q, ARGS.iterations) for label, q in ranges.items()}
    # This run's baseline: every fact read raw.
    RollupWatermark.objects.update(complete_until=None)
    TicketRollupMark.objects.update(complete_until=None)
    ChangeSetRollupMark.objects.update(complete_until=None)
    for label, query in ranges.items():
        page, bare, statements = measure(client, url, query, ARGS.iterations)
        ratio = page / bare if bare else float("inf")
        verdict = "ok" if ratio <= 1.5 and page < 500 else "over the aim"
        print(
            f"{label:24} raw:     page {page:7.1f} ms   bare {statements} queries {bare:7.1f} ms   "
            f"page/bare {ratio:4.2f}x   ({verdict}: ≤ 1.5x and < 500 ms)"
        )
        rolled_page, rolled_bare, rolled_statements = rolled[label]
        aim = 150 if not query else 300
        verdict = "ok" if rolled_page < aim else "over the aim"
        print(
            f"{'':24} rollups: page {rolled_page:7.1f} ms   bare {rolled_statements} queries "
            f"{rolled_bare:7.1f} ms   rollups/raw page {rolled_page / page:4.2f}x   "
            f"({verdict}: < {aim} ms)"
        )


if __name__ == "__main__":
    main()
