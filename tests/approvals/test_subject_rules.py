"""A ticket decides only what it is about (issue 14): each type declares the subject kinds it may
be about and who may open it on them. A subject changes state only through the tickets its own
rules opened; an agent may attach a ticket to a subject for information, never for a decision;
anything else is 422 `subject_not_allowed`."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from agents.services import agent_key_create, run_create
from approvals.models import Ticket, TicketStatus
from approvals.services import TicketInvalid, ticket_decide, ticket_open
from approvals.types import TICKET_TYPES, Opener, SubjectKind, SubjectUse, subject_use
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ChangeSetStatus, ManifestLaunch, Reconciliation
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    manifest_sync,
    recommendation_open,
)
from optimization.services.onboarding import platform_account_request
from optimization.services.reconcile import observations_report, reconcile
from optimization.services.themes import ThemeRequest, creative_theme_propose_within
from plans.models import PlanStatus, Track
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role
from tests.approvals.factories import SYSTEM, open_ticket
from tests.optimization.conftest import entry, live, on_10_november  # noqa: F401 (fixtures)
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db

GOVERNS, INFORMS = SubjectUse.GOVERNS, SubjectUse.INFORMS
NO_SUBJECT = ""
KINDS = [NO_SUBJECT, *SubjectKind]

# The whole allowed set, written out: every (type, subject kind, opener) not listed is refused.
EXPECTED: dict[tuple[str, str, str], SubjectUse] = {
    ("A1", "plan_version", "system"): GOVERNS,
    ("A2", "change_set", "system"): GOVERNS,
    ("A2", "manifest_launch", "system"): GOVERNS,  # a sync's first launch (issue 17)
    ("A3", "change_set", "system"): GOVERNS,
    ("A5", "plan_version", "system"): GOVERNS,
    ("A5", "recommendation", "system"): GOVERNS,
    ("A4", "platform_account", "system"): GOVERNS,
    ("A6", "reconciliation", "system"): GOVERNS,
    ("A6", "ticket", "person"): INFORMS,
    ("A7", "plan_version", "system"): GOVERNS,
    ("A7", "plan_version", "agent"): INFORMS,
    ("A7", "change_set", "system"): GOVERNS,  # a change set touching a guarded field
    ("A7", "change_set", "agent"): INFORMS,
    ("A7", "agent_run", "agent"): INFORMS,
    # An A7 on a track or an entity decides nothing, but blocks creative launches there.
    ("A7", "track", "agent"): INFORMS,
    ("A7", "track", "person"): INFORMS,
    ("A7", "manifest_entry", "agent"): INFORMS,
    ("A7", "manifest_entry", "person"): INFORMS,
    ("A7", "creative_theme", "system"): GOVERNS,
    ("A8", "agent_run", "system"): GOVERNS,
    ("A9", "agent_run", "system"): GOVERNS,
    # A ticket about nothing decides nothing: the system may open any type so, an agent the two
    # types it may open at all.
    **{(type_id, NO_SUBJECT, "system"): INFORMS for type_id in TICKET_TYPES},
    ("A4", NO_SUBJECT, "agent"): INFORMS,
    ("A7", NO_SUBJECT, "agent"): INFORMS,
}
COMBINATIONS = list(itertools.product(TICKET_TYPES, KINDS, Opener))


@pytest.mark.parametrize(("type_id", "kind", "opener"), COMBINATIONS)
def test_the_rule_table_allows_exactly_the_expected_set(type_id, kind, opener):
    assert subject_use(type_id, kind, opener) == EXPECTED.get((type_id, kind, opener))


def test_an_unknown_subject_kind_is_never_allowed():
    assert all(subject_use(t, "widget", o) is None for t in TICKET_TYPES for o in Opener)


# --- Through the service, on real subjects --------------------------------------------------
@pytest.fixture
def subjects(request, acme, acme_v1):
    """One real subject of each kind in acme."""
    request.getfixturevalue("live")
    change_set = change_set_submit(
        tenant=acme,
        request=ChangeSetRequest(
            change_set_id="cs-subject",
            track="always_on",
            items=[
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": "300.00",
                    "after": "310.00",
                }
            ],
            agent="optimizer",
            reason="CPA is good",
        ),
        actor=Actor.service("optimizer"),
    )
    recommendation, _ = recommendation_open(
        tenant=acme,
        track=Track.objects.get(tenant=acme, key="always_on"),
        signal="drift",
        subject_key="search",
        path="revise",
        reason="search drifted",
        evidence={},
        actor=SYSTEM,
        source="tests",
    )
    run = run_create(
        tenant=acme,
        run_id="run-subject",
        main_task_id="t",
        agent="optimizer",
        model="m",
        estimated_cost_usd="1.00",
        actor=SYSTEM,
    )
    launch = manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[entry("search-launch", "search", "10.00")],
        actor=SYSTEM,
    )
    with transaction.atomic():
        theme = creative_theme_propose_within(
            tenant=acme,
            track_key="always_on",
            request=ThemeRequest(theme_id="theme-subject", name="Winter", headlines=["Warm"]),
            actor=SYSTEM,
        )
    account, _ = platform_account_request(
        tenant=acme,
        platform="meta",
        kind="ad_account",
        external_id="act_1",
        client_owned=False,
        actor=SYSTEM,
    )
    observations_report(
        tenant=acme,
        track_key="always_on",
        observations=[
            {
                "platform": "meta",
                "entity_id": "social-prospecting",
                "daily_budget": "500.00",
                "observed_at": "2026-11-10T09:00:00+00:00",
            }
        ],
        actor=SYSTEM,
    )
    reconcile(tenant=acme)
    return {
        SubjectKind.MANIFEST_LAUNCH: ManifestLaunch.objects.get(ticket=launch.ticket).launch_id,
        SubjectKind.TRACK: "always_on",
        SubjectKind.MANIFEST_ENTRY: "google_ads:search-brand",
        SubjectKind.CREATIVE_THEME: theme.theme_id,
        SubjectKind.PLATFORM_ACCOUNT: str(account.pk),
        SubjectKind.RECONCILIATION: str(Reconciliation.objects.get().pk),
        SubjectKind.PLAN_VERSION: str(acme_v1.number),
        SubjectKind.CHANGE_SET: change_set.change_set_id,
        SubjectKind.RECOMMENDATION: str(recommendation.pk),
        SubjectKind.AGENT_RUN: run.run_id,
        SubjectKind.TICKET: open_ticket(acme, "A1").public_id,
        NO_SUBJECT: "",
    }


def _red_flag(type_id):
    return {
        "A8": {"loop_type": "tool_rounds", "attempt_count": 6},
        "A9": {"estimated_usd": "1.00", "actual_usd": "3.00"},
    }.get(type_id)


@pytest.mark.parametrize(("type_id", "opener"), list(itertools.product(TICKET_TYPES, Opener)))
def test_the_service_opens_exactly_the_allowed_set_and_records_what_it_may_do(
    acme, alice, subjects, type_id, opener
):
    actor = Actor.for_user(alice) if opener == Opener.PERSON else SYSTEM
    for kind in KINDS:
        expected = EXPECTED.get((type_id, kind, opener))
        tickets, events = Ticket.objects.count(), AuditEvent.objects.count()
        try:
            ticket = ticket_open(
                tenant=acme,
                type=type_id,
                actor=actor,
                title=f"{type_id} about {kind or 'nothing'}",
                subject_type=kind,
                subject_id=subjects[kind],
                red_flag=_red_flag(type_id),
                opener=opener,
            )
        except TicketInvalid as refused:
            assert expected is None, (type_id, kind, opener, refused.message)
            assert refused.code == "subject_not_allowed"
            assert type_id in refused.message
            assert (kind or "no subject") in refused.message
            assert (Ticket.objects.count(), AuditEvent.objects.count()) == (tickets, events)
            continue
        assert expected is not None, (type_id, kind, opener)
        assert ticket.governs_subject == (expected == GOVERNS), (type_id, kind, opener)
        opened = AuditEvent.objects.get(action="ticket.opened", resource_id=ticket.public_id)
        assert opened.data["governs_subject"] == ticket.governs_subject


def test_a_subject_the_tenant_does_not_have_is_refused(acme, globex):
    with pytest.raises(TicketInvalid) as refused:
        ticket_open(
            tenant=globex,
            type="A7",
            actor=SYSTEM,
            title="x",
            subject_type="plan_version",
            subject_id="1",
            opener=Opener.AGENT,
        )
    assert "subject_id" in refused.value.fields
    assert not Ticket.objects.exists()


# --- The reproductions of the outside probe, through the API -------------------------------
@pytest.fixture
def api(client):
    """api(tenant, body) posts a ticket with the tenant's agent key (made once, beforehand)."""
    keys = {}

    def call(tenant, body):
        return client.post(
            "/api/v1/tickets",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {keys[tenant.pk]}",
        )

    def key_for(tenant):
        keys[tenant.pk] = agent_key_create(tenant=tenant, name="agent", actor=SYSTEM)[1]
        return call

    return key_for


@pytest.fixture
def pending_version(acme, alice, acme_v1, make_member):
    """v2 of acme's always_on, a revise pending approval: its A5 (planner) and its own tickets."""
    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=Actor.for_user(alice),
        reason="search converts",
    )
    return plan_version_submit(version=draft, actor=Actor.for_user(alice))


def test_an_agents_a4_on_a_plan_version_is_refused_and_writes_nothing(globex, api, make_member):
    from plans.services import plan_version_import_approved

    version = plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=SYSTEM,
        approved_by="agency",
    )
    post = api(globex)
    events = AuditEvent.objects.count()
    response = post(
        globex,
        {
            "type": "A4",
            "title": "x",
            "client_visible": True,
            "subject_type": "plan_version",
            "subject_id": str(version.number),
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "subject_not_allowed"
    assert "A4" in body["detail"] and "plan_version" in body["detail"]
    assert not Ticket.objects.filter(type="A4").exists()
    assert AuditEvent.objects.count() == events


def test_an_agents_a7_on_a_version_informs_and_its_rejection_decides_nothing(
    acme, api, pending_version, make_member
):
    legal = make_member("lena", acme, Role.LEGAL)
    response = api(acme)(
        acme,
        {
            "type": "A7",
            "title": "Copy check",
            "subject_type": "plan_version",
            "subject_id": str(pending_version.number),
        },
    )
    assert response.status_code == 201
    assert response.json()["governs_subject"] is False
    flag = Ticket.objects.get(public_id=response.json()["ticket"])
    ticket_decide(ticket=flag, actor=Actor.for_user(legal), verdict="reject", comment="no")
    pending_version.refresh_from_db()
    assert pending_version.status == PlanStatus.PENDING_APPROVAL
    a5 = Ticket.objects.get(type="A5", subject_id=str(pending_version.number))
    assert a5.status == TicketStatus.OPEN


def test_an_agents_open_a7_does_not_hold_up_the_versions_approval(
    acme, api, pending_version, make_member
):
    api(acme)(
        acme,
        {
            "type": "A7",
            "title": "Copy check",
            "subject_type": "plan_version",
            "subject_id": str(pending_version.number),
        },
    )
    a5 = Ticket.objects.get(type="A5", subject_id=str(pending_version.number))
    assert a5.required_roles == ["planner", "client"]  # search up 12%: the client signs too
    for role in (Role.PLANNER, Role.CLIENT):
        person = make_member(f"{role}-2", acme, role)
        ticket_decide(ticket=a5, actor=Actor.for_user(person), verdict="approve")
    pending_version.refresh_from_db()
    assert pending_version.status == PlanStatus.APPROVED
    assert Ticket.objects.get(type="A7", governs_subject=False).status == TicketStatus.OPEN


@pytest.mark.usefixtures("live")
def test_an_agents_a7_on_an_a3_change_set_neither_rejects_nor_holds_it(
    acme, acme_v1, api, make_member
):
    operator = make_member("otto", acme, Role.OPERATOR)
    legal = make_member("lena", acme, Role.LEGAL)
    change_set = change_set_submit(
        tenant=acme,
        request=ChangeSetRequest(
            change_set_id="cs-a3",
            track="always_on",
            items=[
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": "300.00",
                    "after": "400.00",
                }
            ],
            agent="optimizer",
            reason="CPA is good",
        ),
        actor=Actor.service("optimizer"),
    )
    assert change_set.status == ChangeSetStatus.PENDING_APPROVAL
    post = api(acme)
    first = post(
        acme,
        {"type": "A7", "title": "x", "subject_type": "change_set", "subject_id": "cs-a3"},
    )
    second = post(
        acme,
        {"type": "A7", "title": "y", "subject_type": "change_set", "subject_id": "cs-a3"},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    rejected = Ticket.objects.get(public_id=first.json()["ticket"])
    ticket_decide(ticket=rejected, actor=Actor.for_user(legal), verdict="reject", comment="no")
    change_set.refresh_from_db()
    assert change_set.status == ChangeSetStatus.PENDING_APPROVAL
    # The other agent A7 stays open; the operator's A3 alone decides the change set.
    a3 = Ticket.objects.get(type="A3", subject_id="cs-a3")
    assert a3.required_roles == ["operator", "client"]  # a budget increase: the client signs too
    ticket_decide(ticket=a3, actor=Actor.for_user(operator), verdict="approve")
    client = make_member("carla", acme, Role.CLIENT)
    ticket_decide(ticket=a3, actor=Actor.for_user(client), verdict="approve")
    change_set.refresh_from_db()
    assert change_set.status == ChangeSetStatus.APPLIED
    assert Ticket.objects.get(public_id=second.json()["ticket"]).status == TicketStatus.OPEN


def test_the_ticket_page_says_an_agents_ticket_only_informs_about_its_subject(
    acme, api, pending_version, client, make_member
):
    response = api(acme)(
        acme,
        {
            "type": "A7",
            "title": "Copy check",
            "subject_type": "plan_version",
            "subject_id": str(pending_version.number),
        },
    )
    client.force_login(make_member("lena", acme, Role.LEGAL))
    page = client.get(f"/tickets/{response.json()['ticket']}/").content.decode()
    assert "for information: this ticket neither blocks nor decides it" in page
    a5 = Ticket.objects.get(type="A5", subject_id=str(pending_version.number))
    assert "for information" not in client.get(f"/tickets/{a5.public_id}/").content.decode()
