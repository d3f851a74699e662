"""The dashboard over 100,000 tickets in 50 tenants (aim: ≤ 3× a bare page, p95 < 150 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/inbox.py

Each run recreates its own bench_ht_inbox database (bench/_setup.py migrates it): a small world
first (a few tickets per tenant), then 100,000 tickets bulk-inserted across them (every type,
60 % open, red flags, approvals already given, SLAs from overdue to days ahead, created over
~60 days).

1. Query counts: the dashboard (inbox + red-flag lane + my-queue count) for several filters is
   rendered over the small world and again over 100,000 tickets; the counts must be equal.
2. Server time: the Django test Client in-process (middleware, session, auth, template rendering
   included), warmed up, then many requests per page; p50 and p95 of the dashboard, each as a
   ratio to the same figure of a bare page from this one run (a minimal view rendering the same
   page of 25 rows of the same queryset with no filters, lane, queue or partials). Two people: an
   operator of one tenant (~2,000 tickets) and an admin of all 50 (~100,000).

The searches: two words, the second too short for a trigram and the first in every ticket (no
index can narrow that: every open ticket is read, once, as inbox.page_of_tickets counts and pages
in one query; what keeps it cheap is that each row is compared against its one stored upper-cased
Ticket.search_text, not UPPER() of six fields, and the short word by STRPOS: approvals migration
0017), and a fragment of a public id, as people paste one (the trigram index on search_text finds
it without reading the table).

The index this bench once proposed for the page of ids (tenant, status, created_at DESC, id DESC)
is Ticket.Meta's ticket_inbox since approvals migration 0005.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from datetime import timedelta

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tickets", type=int, default=100_000)
parser.add_argument("--tenants", type=int, default=50)
parser.add_argument("--iterations", type=int, default=60)
ARGS = _setup.arguments(parser, quick={"tickets": 1_000, "tenants": 5, "iterations": 3})
# Its own database, made afresh each run: exactly these 100,000 tickets, and no rows (or schema
# of the day) other benches left behind.
_setup.django_on_bench_db("inbox", fresh=True)

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals.models import Ticket, TicketDecision, TicketStatus  # noqa: E402
from approvals.services import (  # noqa: E402
    PUBLIC_ID_ALPHABET,
    ticket_waiting_roles_rebuild,
)
from approvals.types import TICKET_TYPES  # noqa: E402
from audit.actors import Actor  # noqa: E402
from tenants.access import tenant_ids_for  # noqa: E402
from tenants.models import INTERNAL_ROLES, Role  # noqa: E402
from tenants.services import membership_set, tenant_create, user_ensure  # noqa: E402

ACTOR = Actor.system("bench")
PASSWORD = "bench-pass-2026"
PAGE_SIZE = 25
FILTERS = {
    "inbox (open, page 1)": {},
    "inbox page 3": {"page": "3"},
    "my queue": {"queue": "mine"},
    "type A3": {"type": "A3"},
    "SLA overdue": {"sla": "overdue"},
    "SLA due soon": {"sla": "amber"},
    "search 'budget 42'": {"q": "budget 42"},
}
# Added once the tickets exist: {"q": <6 characters of a public id after its type, lower case>}.
SEARCH_PUBLIC_ID = "search public id"

# The bare page: the same rows with nothing else.
BARE = engines["django"].from_string(
    "<!doctype html><title>bare</title><table>{% for t in page.object_list %}<tr>"
    "<td>{{ t.public_id }}</td><td>{{ t.type }}</td><td>{{ t.title }}</td>"
    "<td>{{ t.tenant.name }}</td><td>{{ t.platform }}</td><td>{{ t.requesting_agent }}</td>"
    "<td>{{ t.status }}</td><td>{{ t.sla_due_at }}</td></tr>{% endfor %}</table>"
    "<p>{{ page.paginator.count }}</p>"
)


def bare_inbox(request):
    tickets = (
        Ticket.objects.filter(
            tenant__in=tenant_ids_for(request.user, roles=INTERNAL_ROLES),
            status=TicketStatus.OPEN,
        )
        .select_related("tenant")
        .order_by("-created_at", "-id")
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return HttpResponse(BARE.render({"page": page}, request))


urlpatterns = [
    path("bench/bare-inbox/", bare_inbox),
    path("", include("config.urls")),
]


def make_world(tenant_count: int):
    stamp = f"{int(time.time())}-{secrets.token_hex(2)}"
    tenants = [
        tenant_create(
            slug=f"inbox-{stamp}-{n}",
            name=f"Inbox bench {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
            actor=ACTOR,
        )
        for n in range(tenant_count)
    ]
    admin = user_ensure(username=f"inbox-admin-{stamp}", password=PASSWORD)
    operator = user_ensure(username=f"inbox-operator-{stamp}", password=PASSWORD)
    planner = user_ensure(username=f"inbox-planner-{stamp}", password=PASSWORD)
    for tenant in tenants:
        membership_set(tenant=tenant, user=admin, role=Role.ADMIN, actor=ACTOR)
    membership_set(tenant=tenants[0], user=operator, role=Role.OPERATOR, actor=ACTOR)
    membership_set(tenant=tenants[0], user=planner, role=Role.PLANNER, actor=ACTOR)
    return tenants, {"admin": admin, "operator": operator, "planner": planner}


def add_tickets(tenants: list, total: int, approver, *, offset: int = 0) -> None:
    """Bulk-insert `total` tickets over the tenants, then spread their times over ~60 days."""
    now = timezone.now()
    # Real tickets arrive over weeks: write their opening times as given (auto_now_add would
    # stamp them all "now"), so no second pass rewrites and bloats every row.
    Ticket._meta.get_field("created_at").auto_now_add = False
    types = list(TICKET_TYPES)
    suffixes: set[str] = set()
    while len(suffixes) < total:
        suffixes.add("".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(10)))
    rows = []
    for n, suffix in enumerate(suffixes, start=offset):
        type_id = types[n % len(types)]
        ticket_type = TICKET_TYPES[type_id]
        roles = list(ticket_type.required_roles)
        if type_id == "A5" and n % 2:
            roles.append("client")
        is_open = n % 10 < 6
        red_flag = None
        if type_id == "A8":
            red_flag = {"loop_type": "tool_rounds", "attempt_count": 6}
        elif type_id == "A9":
            red_flag = {"estimated_usd": "1.20", "actual_usd": "3.75"}
        # Red flags get cleared quickly: keep about 1 in 20 of them open.
        if red_flag and n % 20:
            is_open = False
        opened = now - timedelta(minutes=n % 86400)
        rows.append(
            Ticket(
                public_id=f"{type_id}-{suffix}",
                created_at=opened,
                sla_due_at=opened + timedelta(days=n % 5 + 1),
                tenant=tenants[n % len(tenants)],
                type=type_id,
                status=TicketStatus.OPEN if is_open else TicketStatus.APPROVED,
                resolved_at=None if is_open else now,
                title=f"{ticket_type.name}: budget change {n}",
                summary="Search budget up 12% from 1 Dec",
                diff={"summary": [f"Change {n}"]},
                platform=["google_ads", "meta", "tiktok", ""][n % 4],
                requesting_agent=["optimizer-agent", "planning-agent", "cost-guard"][n % 3],
                opened_by="bench",
                required_roles=roles,
                client_visible="client" in roles,
                red_flag=red_flag,
                run_id=f"run-{n}" if red_flag else "",
                change_set_id=f"cs-{n:08d}" if type_id == "A3" else "",
                plan_version=n % 500 + 1 if type_id in ("A1", "A5") else None,
            )
        )
    created = Ticket.objects.bulk_create(rows, batch_size=5000)
    # Some multi-party tickets already carry one approval.
    decisions = [
        TicketDecision(ticket=t, user=approver, role="planner", slot="planner", verdict="approve")
        for t in created
        if t.type == "A7" and t.status == TicketStatus.OPEN and t.pk % 3 == 0
    ]
    TicketDecision.objects.bulk_create(decisions, batch_size=5000)
    Ticket._meta.get_field("created_at").auto_now_add = True
    # The tickets went in around the services: give them the waiting-role rows "my queue" reads.
    ticket_waiting_roles_rebuild(tenant_ids=[t.pk for t in tenants])
    with connection.cursor() as cursor:
        # What autovacuum does on a live system: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE approvals_ticket")
        cursor.execute("VACUUM ANALYZE approvals_ticketdecision")
        cursor.execute("VACUUM ANALYZE approvals_ticketwaitingrole")
        cursor.execute("ANALYZE tenants_membership")


def query_counts(client: Client, filters: dict[str, dict]) -> dict[str, int]:
    counts = {}
    for name, params in filters.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/", params)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


def timings(client: Client, url: str, params: dict, iterations: int) -> tuple[float, float]:
    for _ in range(min(5, iterations)):
        client.get(url, params)
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        response = client.get(url, params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    tenants, people = make_world(args.tenants)
    add_tickets(tenants, 3 * len(tenants), people["planner"])
    # A ticket both people see, in the small world and the large one alike.
    public_id = Ticket.objects.filter(tenant=tenants[0]).order_by("pk").first().public_id
    filters = {**FILTERS, SEARCH_PUBLIC_ID: {"q": public_id[3:9].lower()}}
    clients = {}
    for who in ("operator", "admin"):
        clients[who] = Client()
        clients[who].force_login(people[who])

    # Production settings, except what an in-process client needs: its host name, no HTTPS
    # redirect and the plain static storage (no collectstatic manifest here).
    served = override_settings(
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    with served:
        small = {who: query_counts(c, filters) for who, c in clients.items()}
        add_tickets(tenants, args.tickets, people["planner"], offset=3 * len(tenants))
        print(
            f"set-up: {Ticket.objects.filter(tenant__in=tenants).count():,} tickets in "
            f"{len(tenants)} tenants ({time.perf_counter() - started:.1f} s)"
        )
        # Constant: no page costs more queries over 100,000 tickets than the dearest page did
        # over the small world (an empty result skips the row and prefetch queries).
        failed = False
        for who, client in clients.items():
            bound = max(small[who].values())
            for name, count in query_counts(client, filters).items():
                failed |= count > bound
                print(
                    f"queries {who:8} {name:22} small world {small[who][name]:2} · "
                    f"{args.tickets:,} tickets {count:2} (bound {bound}: "
                    f"{'ok' if count <= bound else 'GROWS'})"
                )
        if failed:
            sys.exit("the dashboard's query count grows with the data")

        print(
            f"\nserver time per page, {args.iterations} requests after warm-up: ms, and × the "
            "bare page's p50 / p95 from this run (aim: ≤ 3× both, p95 < 150 ms)"
        )
        for who, client in clients.items():
            bare50, bare95 = timings(client, "/bench/bare-inbox/", {}, args.iterations)
            print(
                f"{who:8} {'bare page (same 25 rows)':29} {figures(bare50, bare95, bare50, bare95)}"
            )
            for name, params in filters.items():
                p50, p95 = timings(client, "/", params, args.iterations)
                missed = [
                    *(["over 3×"] if max(p50 / bare50, p95 / bare95) > 3 else []),
                    *(["p95 ≥ 150 ms"] if p95 >= 150 else []),
                ]
                verdict = ", ".join(missed) or "ok"
                print(f"{who:8} {name:29} {figures(p50, p95, bare50, bare95)}  ({verdict})")


def figures(p50: float, p95: float, bare50: float, bare95: float) -> str:
    return f"p50 {p50:6.1f} ms {p50 / bare50:4.1f}×   p95 {p95:6.1f} ms {p95 / bare95:4.1f}×"


if __name__ == "__main__":
    main(ARGS)
