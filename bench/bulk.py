"""Bulk decisions next to single ones, and the notification fan-out of a burst (issue 19).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/bulk.py

In one run, on a fresh database (bench_ht_bulk): N open A3 tickets approved one by one through
`ticket_decide` (as N clicks on ticket pages would), then N others approved in one bulk through
`tickets_decide_bulk` (what the inbox's "Approve selected" does) — time and queries per ticket
each, and their ratio (aim: bulk ≤ 1× single per ticket; each ticket is still its own
transaction, lock, checks and audit event, and the fan-out of notifications runs once at the end
of the bulk instead of after each ticket). Then bulks of 200 repeated (aim: p95 under 5 s).
Then a burst of B tickets opened at once for P operators who digest what waits for them: the
fan-out's time and how many digests go out (aim: one per person).

The tickets name no subject (no change set to apply), so what is measured is the decision, its
audit events and the notifications, not an owner's handler.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta

os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import _setup  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tickets", type=int, default=500, help="N: single and bulk approvals each")
parser.add_argument("--rounds", type=int, default=10, help="bulks of --round-size for the p95")
parser.add_argument("--round-size", type=int, default=200)
parser.add_argument("--burst", type=int, default=1_000, help="B: tickets opened at once")
parser.add_argument("--people", type=int, default=5, help="P: operators told of the burst")
ARGS = _setup.arguments(
    parser, quick={"tickets": 30, "rounds": 2, "round_size": 20, "burst": 60, "people": 3}
)
_setup.django_on_bench_db("bulk", fresh=True)

from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals import events  # noqa: E402
from approvals.bulk import tickets_decide_bulk  # noqa: E402
from approvals.fingerprint import ticket_shown_hash  # noqa: E402
from approvals.models import Ticket, TicketStatus  # noqa: E402
from approvals.services import ticket_decide, ticket_open  # noqa: E402
from audit.actors import Actor  # noqa: E402
from notifications.mail import digests_send_due  # noqa: E402
from notifications.models import Notification  # noqa: E402
from notifications.outbox import outbox_process  # noqa: E402
from notifications.services import preferences_set  # noqa: E402
from tenants.models import Role  # noqa: E402
from tenants.services import membership_set, tenant_create, user_ensure  # noqa: E402

ACTOR = Actor.system("bench")


def world():
    stamp = int(time.time())
    tenant = tenant_create(
        slug=f"bulk-{stamp}",
        name="Bulk bench",
        vertical="retail",
        country="DE",
        time_zone="Europe/Berlin",
        actor=ACTOR,
    )
    people = []
    for n in range(max(2, ARGS.people)):
        user = user_ensure(username=f"bulk-op-{stamp}-{n}", password="!", email=f"op{n}@bench.test")
        membership_set(tenant=tenant, user=user, role=Role.OPERATOR, actor=ACTOR)
        people.append(user)
    return tenant, people


def open_a3s(tenant, count: int, label: str) -> list[Ticket]:
    tickets = [
        ticket_open(tenant=tenant, type="A3", actor=ACTOR, title=f"{label} {n}")
        for n in range(count)
    ]
    outbox_process()  # the people are told as production tells them, before the decisions
    return tickets


def measure(work) -> tuple[float, int]:
    """Seconds and queries of `work` (counted by a wrapper: Django's query log keeps 9,000)."""
    count = [0]

    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        started = time.perf_counter()
        work()
        elapsed = time.perf_counter() - started
    return elapsed, count[0]


def singles(tickets, actor) -> None:
    for ticket in tickets:
        ticket_decide(ticket=ticket, actor=actor, verdict="approve", comment="Fine.")


def bulk(tickets, actor) -> list:
    shown = {t.public_id: ticket_shown_hash(t) for t in tickets}  # the confirmation page's
    return tickets_decide_bulk(
        tickets=tickets, actor=actor, verdict="approve", comment="Fine.", shown=shown
    )


def main() -> None:
    tenant, people = world()
    actor = Actor.for_user(people[0])
    n = ARGS.tickets
    print(f"bulk bench: {n} single approvals vs a bulk of {n} (PostgreSQL, one run)")

    one_by_one = open_a3s(tenant, n, "single")
    single_s, single_q = measure(lambda: singles(one_by_one, actor))
    together = open_a3s(tenant, n, "bulk")
    outcomes = []
    bulk_s, bulk_q = measure(lambda: outcomes.extend(bulk(together, actor)))
    assert all(o.done for o in outcomes), [o.why for o in outcomes if not o.done][:3]
    assert Ticket.objects.filter(status=TicketStatus.APPROVED).count() == 2 * n
    print(
        f"  single: {single_s:7.2f} s  {single_s / n * 1000:6.1f} ms/ticket  "
        f"{single_q / n:5.1f} queries/ticket"
    )
    print(
        f"  bulk:   {bulk_s:7.2f} s  {bulk_s / n * 1000:6.1f} ms/ticket  "
        f"{bulk_q / n:5.1f} queries/ticket"
    )
    print(
        f"  bulk per ticket vs single: {bulk_s / single_s:.2f}× time, "
        f"{bulk_q / single_q:.2f}× queries (aim: ≤ 1×)"
    )

    durations = []
    for round_number in range(ARGS.rounds):
        tickets = open_a3s(tenant, ARGS.round_size, f"round {round_number}")
        started = time.perf_counter()
        bulk(tickets, actor)
        durations.append(time.perf_counter() - started)
    durations.sort()
    p95 = durations[max(0, int(round(0.95 * len(durations))) - 1)]
    print(
        f"  bulk of {ARGS.round_size} × {ARGS.rounds}: "
        f"median {statistics.median(durations):.2f} s, p95 {p95:.2f} s (aim: < 5 s for 200)"
    )

    # The burst: every operator digests what waits for them.
    for person in people[: ARGS.people]:
        preferences_set(user=person, actor=ACTOR, choices={"waiting": "digest"})
    Notification.objects.all().delete()
    # The burst's events wait in the outbox (as when the cluster picks them up), then fan out.
    token = events._batching.set(True)
    try:
        for n_ in range(ARGS.burst):
            ticket_open(tenant=tenant, type="A3", actor=ACTOR, title=f"burst {n_}")
    finally:
        events._batching.reset(token)
    started = time.perf_counter()
    outbox_process()
    fan_out_s = time.perf_counter() - started
    told = Notification.objects.count()
    mail.outbox = []
    # 09:05 in Berlin on the next business day: each person's digest is due.
    now = timezone.now()
    day = now + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    nine = day.replace(hour=8, minute=5, second=0, microsecond=0)  # 09:05 CET
    started = time.perf_counter()
    sent = digests_send_due(now=nine)
    digest_s = time.perf_counter() - started
    per_person = {address for message in mail.outbox for address in message.to}
    print(
        f"  burst of {ARGS.burst} tickets for {ARGS.people} operators: fan-out {fan_out_s:.2f} s "
        f"({told} notifications), digests {digest_s:.2f} s: {sent} e-mail(s) to "
        f"{len(per_person)} person(s) (aim: one per person)"
    )
    assert sent == len(per_person) == ARGS.people, (sent, per_person)


if __name__ == "__main__":
    main()
