"""The dashboard (inbox, filters, paging, htmx partial) and the ticket page (facts, diff preview,
actions, decisions, comments, audit trail)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import Ticket, TicketComment, TicketDecision, TicketStatus
from approvals.services import ticket_decide
from approvals.views import PAGE_SIZE
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role, Tenant

BUDGET_DIFF = {
    "summary": ["Search budget up 12% (€40,000 → €44,800) from 1 Dec"],
    "changes": [
        {"field": "search.budget", "before": 40000, "after": 44800, "note": "+12%"},
        {"field": "geos", "before": ["DE"], "after": ["DE", "AT"]},
    ],
    "budget_table": {
        "currency": "EUR",
        "columns": ["Channel", "Before", "After"],
        "rows": [["search", 40000, 44800], ["social", 20000, 20000]],
        "totals": ["Total", 60000, 64800],
    },
    "kpi_impact": ["More conversions at a similar CPA."],
    "raw": {"channels": {"search": {"budget": [40000, 44800]}}},
}


@pytest.fixture
def staff(acme, make_member):
    return {role: make_member(f"acme-{role}", acme, role) for role in Role.values}


@pytest.fixture
def replan(acme, make_ticket):
    return make_ticket(
        acme,
        "A5",
        title="Replan always_on v12",
        plan_version=12,
        platform="google_ads",
        requesting_agent="planning-agent",
        diff=BUDGET_DIFF,
    )


def test_the_inbox_lists_the_open_tickets_of_my_tenants(client, acme, globex, staff, make_ticket):
    older = make_ticket(acme, "A1", title="Older plan")
    newer = make_ticket(acme, "A3", title="Newer breach")
    theirs = make_ticket(globex, "A1", title="Globex plan")
    closed = make_ticket(acme, "A8", run_id="r-1")
    ticket_decide(ticket=closed, actor=Actor.for_user(staff["operator"]), verdict="approve")
    client.force_login(staff["planner"])

    page = client.get(reverse("dashboard")).content.decode()

    inbox = page[page.index('id="inbox"') :]
    assert newer.public_id in inbox and older.public_id in inbox
    assert theirs.public_id not in page
    assert closed.public_id not in inbox  # open only, unless asked
    assert "2 tickets" in inbox


def test_the_inbox_puts_the_most_overdue_first_then_amber_then_by_due_time(
    client, acme, staff, make_ticket
):
    now = timezone.now()
    # (title, opened, due): amber_far is due after ok_soon but has used most of its window.
    shapes = [
        ("ok_late", now - timedelta(hours=1), now + timedelta(days=3)),
        ("no_sla", now - timedelta(hours=1), None),
        ("ok_soon", now - timedelta(hours=1), now + timedelta(hours=10)),
        ("overdue_1h", now - timedelta(days=1), now - timedelta(hours=1)),
        ("amber_far", now - timedelta(days=5), now + timedelta(hours=20)),
        ("overdue_4d", now - timedelta(days=6), now - timedelta(days=4)),
    ]
    for title, opened, due in shapes:
        ticket = make_ticket(acme, "A1", title=title)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=opened, sla_due_at=due)
    closed = make_ticket(acme, "A1", title="closed_one")
    ticket_decide(ticket=closed, actor=Actor.for_user(staff["planner"]), verdict="approve")
    client.force_login(staff["planner"])

    for query in ({}, {"status": ""}, {"queue": "mine"}):
        page = client.get(reverse("dashboard"), query).content.decode()
        inbox = page[page.index('id="inbox"') :]
        expected = ["overdue_4d", "overdue_1h", "amber_far", "ok_soon", "ok_late", "no_sla"]
        if query == {"status": ""}:
            expected.append("closed_one")
        positions = [inbox.index(f">{title}</a>") for title in expected]
        assert positions == sorted(positions), query


def test_an_inbox_row_links_its_title_and_names_requester_and_escalation_in_words(
    client, acme, staff, make_ticket
):
    ticket = make_ticket(
        acme, "A5", title="Revise always_on", requesting_agent="optimization.scan_triggers"
    )
    Ticket.objects.filter(pk=ticket.pk).update(escalation_level=1)
    client.force_login(staff["planner"])

    page = client.get(reverse("dashboard")).content.decode()

    inbox = page[page.index('id="inbox"') :]
    link = reverse("ticket", args=[ticket.public_id])
    assert f'<a href="{link}" class="ticket-link">Revise always_on</a>' in inbox
    assert "Revise-trigger scan" in inbox
    assert "optimization.scan_triggers" not in inbox
    assert "Escalated to admins" in inbox
    assert "escalated 1" not in inbox


@pytest.mark.parametrize(
    ("query", "expected_titles"),
    [
        pytest.param({"type": "A3"}, {"Search breach"}, id="type"),
        pytest.param({"platform": "META"}, {"Meta launch"}, id="platform-any-case"),
        pytest.param({"requesting_agent": "optim"}, {"Search breach"}, id="requesting-agent"),
        pytest.param({"q": "launch"}, {"Meta launch"}, id="search-title"),
        pytest.param({"q": "cs-77"}, {"Search breach"}, id="search-change-set"),
        pytest.param({"tenant": "acme"}, {"Search breach", "Meta launch"}, id="tenant"),
        pytest.param({"status": "approved"}, {"Approved plan"}, id="status"),
        pytest.param(
            {"status": ""}, {"Search breach", "Meta launch", "Approved plan"}, id="any-status"
        ),
        pytest.param({"type": "ZZ"}, {"Search breach", "Meta launch"}, id="unknown-type-ignored"),
    ],
)
def test_the_inbox_filters_narrow_the_list(
    client, acme, staff, make_ticket, query, expected_titles
):
    make_ticket(
        acme, "A3", title="Search breach", requesting_agent="optimizer", change_set_id="cs-77"
    )
    make_ticket(acme, "A2", title="Meta launch", platform="meta")
    approved = make_ticket(acme, "A1", title="Approved plan")
    ticket_decide(ticket=approved, actor=Actor.for_user(staff["planner"]), verdict="approve")
    client.force_login(staff["planner"])

    response = client.get(reverse("dashboard"), query)

    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert {t.title for t in rows} == expected_titles


def test_the_tenant_filter_offers_only_my_tenants(client, acme, globex, staff):
    client.force_login(staff["planner"])

    response = client.get(reverse("dashboard"), {"tenant": "globex"})

    assert list(response.context["filterset"].form.fields["tenant"].queryset) == [acme]
    assert "Globex" not in response.content.decode()


def test_the_filter_bar_keeps_what_was_chosen(client, acme, staff):
    client.force_login(staff["planner"])

    page = client.get(
        reverse("dashboard"), {"type": "A7", "sla": "overdue", "q": "<b>claims</b>"}
    ).content.decode()

    assert '<option value="A7" selected>A7 Compliance / policy</option>' in page
    assert '<option value="overdue" selected>Overdue</option>' in page
    assert '<option value="open" selected>Open</option>' in page  # the default status
    assert 'value="&lt;b&gt;claims&lt;/b&gt;"' in page  # escaped, never markup


def test_the_inbox_pages_through_many_tickets(client, acme, staff, make_ticket):
    for i in range(PAGE_SIZE + 3):
        make_ticket(acme, "A1", title=f"Plan {i:02d}")
    client.force_login(staff["planner"])

    first = client.get(reverse("dashboard"))
    second = client.get(reverse("dashboard"), {"page": 2})

    assert len(first.context["page"].object_list) == PAGE_SIZE
    assert [t.title for t in second.context["page"].object_list] == [
        "Plan 02",
        "Plan 01",
        "Plan 00",
    ]
    assert "Page 2 of 2" in second.content.decode()


def test_an_htmx_filter_request_gets_only_the_inbox_region(client, acme, staff, make_ticket):
    make_ticket(acme, "A8", run_id="r-1")
    make_ticket(acme, "A1", title="Winter plan")
    client.force_login(staff["planner"])

    response = client.get(
        reverse("dashboard"), {"type": "A1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox"
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="inbox"')
    assert "Winter plan" in page
    assert "redflag-lane" not in page and "<html" not in page


def test_my_queue_tab_shows_what_waits_for_me(client, acme, staff, make_ticket):
    make_ticket(acme, "A1", title="Needs a planner")
    make_ticket(acme, "A3", title="Needs an operator")
    client.force_login(staff["planner"])

    response = client.get(reverse("dashboard"), {"queue": "mine"})

    assert [t.title for t in response.context["page"].object_list] == ["Needs a planner"]
    assert response.context["my_queue_count"] == 1


def test_a_person_who_is_only_a_client_is_sent_to_the_portal(client, staff):
    client.force_login(staff["client"])

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_a_person_without_a_tenant_is_told_so(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner", password="x" * 12))

    response = client.get(reverse("dashboard"))

    assert response.status_code == 403
    assert "not a member of any tenant" in response.content.decode()


def test_a_platform_superuser_without_a_tenant_is_sent_to_every_tenants_metrics(
    client, django_user_model, staff, globex
):
    """A platform superuser runs the platform (Django admin, every tenant's board) and fills no
    approval slot: the dashboard sends them on rather than refusing them."""
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    client.force_login(root)

    response = client.get(reverse("dashboard"), follow=True)

    assert response.redirect_chain == [(reverse("metrics:all"), 302)]
    assert response.status_code == 200
    assert response.context["platform_wide"] is True
    assert [t.slug for t in response.context["tenants"]] == ["acme", "globex"]


def test_a_platform_superuser_is_sent_to_django_admin_while_there_is_no_tenant(
    client, django_user_model
):
    assert not Tenant.objects.exists()
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))

    response = client.get(reverse("dashboard"))

    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))


def test_the_ticket_page_shows_facts_the_diff_preview_and_the_audit_trail(client, staff, replan):
    client.force_login(staff["planner"])

    response = client.get(reverse("ticket", kwargs={"public_id": replan.public_id}))

    page = response.content.decode()
    assert response.status_code == 200
    for fact in [
        replan.public_id,
        "A5 · Plan revise / replan approval",
        "New plan version vN+1",  # what it blocks
        "Acme Retail",
        "retail",
        "google_ads",
        "planning-agent",
        "v12",
    ]:
        assert fact in page, fact
    assert "Search budget up 12% (€40,000 → €44,800) from 1 Dec" in page
    assert ">€40,000<" in page and ">€44,800<" in page  # before / after
    changes = page.split('data-testid="changes"', 1)[1].split("</table>", 1)[0]
    assert ">€40,000<" in changes and ">€44,800<" in changes  # amounts keep their currency
    assert ">€64,800<" in page  # budget totals
    assert "DE, AT" in page  # a list, readable
    assert "More conversions at a similar CPA." in page
    assert "<details" in page and "&quot;channels&quot;" in page  # the raw JSON
    assert "ticket.opened" in page  # the audit trail
    assert 'href="/t/acme/plans/v/12/"' in page  # the linked plan version


def test_the_ticket_page_offers_only_the_actions_my_role_may_take(client, staff, replan):
    url = reverse("ticket", kwargs={"public_id": replan.public_id})

    client.force_login(staff["planner"])
    planner_page = client.get(url).content.decode()
    client.force_login(staff["operator"])
    operator_page = client.get(url).content.decode()

    assert '<h2 id="decision-title">Decision: A5 for v12</h2>' in planner_page
    for label in ("Approve", "Reject", "Request changes"):
        assert f'aria-describedby="decision-title">{label}</button>' in planner_page, label
    assert '<h2 id="decision-title">Decision: A5 for v12</h2>' in operator_page
    assert ">Approve</button>" not in operator_page
    assert "Nothing for you to decide here: waiting for planner" in operator_page


def test_approving_records_the_decision_and_says_so(client, staff, replan):
    client.force_login(staff["planner"])

    response = client.post(
        reverse("ticket_decide", kwargs={"public_id": replan.public_id}),
        {"verdict": "approve", "comment": "Good plan"},
        follow=True,
    )

    replan.refresh_from_db()
    assert replan.status == TicketStatus.APPROVED
    decision = TicketDecision.objects.get(ticket=replan)
    assert (decision.user, decision.role, decision.verdict) == (
        staff["planner"],
        "planner",
        "approve",
    )
    assert AuditEvent.objects.filter(
        resource_id=replan.public_id, action="ticket.approved"
    ).exists()
    page = response.content.decode()
    assert f"You approved {replan.public_id} as planner: it is approved." in page
    assert "is now Approved" not in page


def test_an_htmx_decision_swaps_the_decision_region_and_the_thread(client, staff, replan):
    client.force_login(staff["planner"])

    response = client.post(
        reverse("ticket_decide", kwargs={"public_id": replan.public_id}),
        {"verdict": "request_changes", "comment": "Split the search budget by month."},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="decision",
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="decision"')
    assert "Changes requested" in page
    assert 'id="thread" class="thread" aria-labelledby="thread-title" hx-swap-oob="true"' in page
    assert "Split the search budget by month." in page
    assert '<div id="trail" hx-swap-oob="true">' in page and "ticket.decided" in page
    assert Ticket.objects.get(pk=replan.pk).status == TicketStatus.CHANGES_REQUESTED


@pytest.mark.parametrize(
    ("who", "verdict", "status", "message"),
    [
        pytest.param("operator", "approve", 403, "it needs planner", id="role-not-allowed"),
        pytest.param("planner", "maybe", 422, "Choose approve, reject", id="unknown-verdict"),
    ],
)
def test_a_refused_decision_explains_why_and_writes_nothing(
    client, staff, replan, who, verdict, status, message
):
    client.force_login(staff[who])
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("ticket_decide", kwargs={"public_id": replan.public_id}), {"verdict": verdict}
    )

    assert response.status_code == status
    assert message in response.content.decode()
    assert "Nothing was changed." in response.content.decode()
    assert not TicketDecision.objects.exists()
    assert AuditEvent.objects.count() == events
    assert Ticket.objects.get(pk=replan.pk).status == TicketStatus.OPEN


def test_deciding_an_already_decided_ticket_is_a_clear_conflict(
    client, acme, staff, make_member, replan
):
    other_planner = make_member("acme-planner-2", acme, Role.PLANNER)
    ticket_decide(
        ticket=replan, actor=Actor.for_user(other_planner), verdict="reject", comment="No"
    )
    client.force_login(staff["planner"])

    plain = client.post(
        reverse("ticket_decide", kwargs={"public_id": replan.public_id}), {"verdict": "approve"}
    )
    htmx = client.post(
        reverse("ticket_decide", kwargs={"public_id": replan.public_id}),
        {"verdict": "approve"},
        HTTP_HX_REQUEST="true",
    )

    assert plain.status_code == 409
    assert "is already rejected" in plain.content.decode()
    # htmx swaps only 2xx answers in, so the message comes with a 200.
    assert htmx.status_code == 200
    assert "is already rejected" in htmx.content.decode()
    assert TicketDecision.objects.filter(ticket=replan).count() == 1


def test_a_comment_joins_the_thread_and_the_audit_trail(client, staff, replan):
    client.force_login(staff["legal"])

    response = client.post(
        reverse("ticket_comment", kwargs={"public_id": replan.public_id}),
        {"body": "Check the health claims first."},
        follow=True,
    )

    assert "Check the health claims first." in response.content.decode()
    comment = TicketComment.objects.get(ticket=replan)
    assert comment.user == staff["legal"]
    assert AuditEvent.objects.filter(
        resource_id=replan.public_id, action="ticket.commented"
    ).exists()


def test_an_htmx_comment_swaps_only_the_thread(client, staff, replan):
    client.force_login(staff["planner"])

    response = client.post(
        reverse("ticket_comment", kwargs={"public_id": replan.public_id}),
        {"body": "On it."},
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="thread"')
    assert "On it." in page


def test_an_empty_comment_is_refused_and_writes_nothing(client, staff, replan):
    client.force_login(staff["planner"])

    response = client.post(
        reverse("ticket_comment", kwargs={"public_id": replan.public_id}), {"body": "   "}
    )

    assert response.status_code == 422
    assert "Write something before posting." in response.content.decode()
    assert not TicketComment.objects.exists()


def test_an_unknown_ticket_is_a_404(client, staff):
    client.force_login(staff["planner"])

    assert client.get(reverse("ticket", kwargs={"public_id": "A1-NOPE"})).status_code == 404


@pytest.mark.parametrize(
    ("run_id", "label"),
    [
        pytest.param("run-93ab", "Decision: A8 for run-93ab", id="run-prefixed-id"),
        pytest.param("7c1e", "Decision: A8 for run 7c1e", id="bare-id"),
    ],
)
def test_an_operator_clears_a_red_flag_for_its_run(client, acme, staff, make_ticket, run_id, label):
    red_flag = make_ticket(acme, "A8", run_id=run_id)
    client.force_login(staff["operator"])

    page = client.get(reverse("ticket", kwargs={"public_id": red_flag.public_id})).content.decode()

    assert label in page
    assert 'aria-describedby="decision-title">Clear</button>' in page
    assert "tool_rounds" in page and ">6<" in page  # loop type and attempts in the facts
