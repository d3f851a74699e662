"""How long `sweep_sla` takes over 100,000 overdue open tickets (aim: under 5 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/sweep_sla.py

Each run recreates its own database (bench_ht_sweep_sla, set up by bench/_setup.py), so the sweep
finds exactly the tickets this run made, makes fresh tenants (default 50) with one mailable admin
each and inserts the tickets, all past their SLA, in SQL. The baseline is the sweep's own
set-based claim (the conditional UPDATE … RETURNING) run alone and rolled back; the sweep then
does the claim, one audit event per escalated ticket (a tenant's hash chain is serial by design:
one head claim and one bulk insert per tenant, audit_events_append_many) and one mail per tenant,
after commit.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import _setup  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tickets", type=int, default=100_000)
parser.add_argument("--tenants", type=int, default=50)
ARGS = _setup.arguments(parser, quick={"tickets": 2_000, "tenants": 3})
# A fresh database each run: the sweep escalates every overdue ticket it finds, so tickets (and
# the rows that hang off them) left by an earlier run would be swept too.
_setup.django_on_bench_db("sweep_sla", fresh=True)

from django.contrib.auth import get_user_model  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals import sweep as sweep_module  # noqa: E402
from approvals.models import Ticket  # noqa: E402
from approvals.sweep import _claim_overdue, ticket_sla_sweep  # noqa: E402
from audit.actors import Actor  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from tenants.models import Role  # noqa: E402
from tenants.services import membership_set, tenant_create  # noqa: E402

ACTOR = Actor.system("bench")
User = get_user_model()


def make_tenants(count: int) -> list:
    """Fresh tenants, each with one admin to mail (no password: nobody logs in)."""
    stamp = int(time.time())
    tenants = []
    for n in range(count):
        tenant = tenant_create(
            slug=f"sweep-{stamp}-{n}",
            name=f"Sweep bench {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
            actor=ACTOR,
        )
        admin = User.objects.create(
            username=f"sweep-admin-{stamp}-{n}", email=f"admin{n}@bench.test", password="!"
        )
        membership_set(tenant=tenant, user=admin, role=Role.ADMIN, actor=ACTOR)
        tenants.append(tenant)
    return tenants


def make_overdue_tickets(tenants: list, total: int) -> None:
    """Bulk-insert the tickets in SQL (generate_series): set-up, not what is measured."""
    # Not the id, nor the columns the database computes (Ticket.search_text).
    columns = [
        f.column for f in Ticket._meta.concrete_fields if f.column != "id" and not f.generated
    ]
    values = {
        "public_id": "'B' || (g %% 9 + 1) || '-' || upper(substr(md5(random()::text || g), 1, 12))",
        "tenant_id": "(%(tenants)s::bigint[])[g %% %(count)s + 1]",
        "type": "'A' || (g %% 5 + 1)",
        "status": "'open'",
        "title": "'Bench ticket ' || g",
        "diff": "'{}'::jsonb",
        "required_roles": "'[\"planner\"]'::jsonb",
        "red_flag": "NULL",
        "client_visible": "false",
        "governs_subject": "false",
        "sla_kind": "'approval'",
        "sla_due_at": "now() - make_interval(hours => 1 + g %% 72)",
        "escalation_level": "0",
        "opened_by": "'bench'",
        "created_at": "now() - interval '4 days'",
        "updated_at": "now()",
    }
    # Every other nullable column (assignee_id, …, whatever later issues add) is NULL, the rest
    # blank text.
    nullable = {f.column for f in Ticket._meta.concrete_fields if f.null}
    select = [values.get(c, "NULL" if c in nullable else "''") for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Ticket._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(select)} FROM generate_series(1, %(total)s) AS g",
            {"tenants": [t.pk for t in tenants], "count": len(tenants), "total": total},
        )


SPENT: dict[str, float] = {"claim": 0.0, "audit": 0.0}


def timed(name: str, function):
    """Wrap a step of the sweep to report where its time goes."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - started

    return wrapper


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Ticket._meta.db_table}")


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    tenants = make_tenants(args.tenants)
    make_overdue_tickets(tenants, args.tickets)
    vacuum_analyze()
    print(
        f"set-up: {args.tickets:,} overdue tickets in {args.tenants} tenants "
        f"({time.perf_counter() - started:.1f} s)"
    )

    with transaction.atomic():
        started = time.perf_counter()
        claimed = len(_claim_overdue(timezone.now()))
        baseline = time.perf_counter() - started
        transaction.set_rollback(True)
    vacuum_analyze()  # clear the rolled-back row versions so both runs start alike

    sweep_module._claim_overdue = timed("claim", sweep_module._claim_overdue)
    sweep_module.audit_events_append_many = timed("audit", sweep_module.audit_events_append_many)
    started = time.perf_counter()
    result = ticket_sla_sweep()
    sweep = time.perf_counter() - started
    events = AuditEvent.objects.filter(tenant__in=tenants, action="ticket.escalated").count()

    again = time.perf_counter()
    second = ticket_sla_sweep()
    second_time = time.perf_counter() - again

    print(f"baseline (claim only, rolled back): {claimed:,} rows in {baseline:.2f} s")
    print(
        f"sweep_sla: escalated {result.escalated:,} in {result.tenants} tenants, "
        f"{events:,} audit events, {len(mail.outbox)} mails in {sweep:.2f} s "
        f"({sweep / baseline:.1f}x the bare claim; aim < 5 s)"
    )
    print(
        f"  of which: claiming tickets {SPENT['claim']:.2f} s, "
        f"audit appends {SPENT['audit']:.2f} s, "
        f"the rest (tenant list, mails, commits) {sweep - SPENT['claim'] - SPENT['audit']:.2f} s"
    )
    print(f"second sweep (nothing new): escalated {second.escalated} in {second_time:.3f} s")


if __name__ == "__main__":
    main(ARGS)
