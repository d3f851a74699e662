"""The plan version lifecycle through the real approvals services: draft, submit, tickets,
approve (supersede in one transaction), reject, request changes, withdraw, the master envelope."""

import io
from datetime import date
from decimal import Decimal

import pytest

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from plans import services
from plans.models import MasterPlan, PlanStatus, PlanVersion, Track
from plans.services import (
    PlanError,
    PlanStateError,
    master_plan_set,
    plan_version_create_draft,
    plan_version_edit,
    plan_version_import_approved,
    plan_version_submit,
    plan_version_withdraw,
)
from tenants.models import Role
from tests.plans.plan_samples import changed, channel, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
WINTER = winter_plan()
SEED = Actor.system("tests")


@pytest.fixture
def acme_people(acme, alice, make_member):
    """Who approves acme's versions: alice drafts them, so another planner approves (four
    eyes)."""
    return {
        "author": alice,
        Role.PLANNER: make_member("pete", acme, Role.PLANNER),
        Role.CLIENT: make_member("carol", acme, Role.CLIENT),
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),
    }


@pytest.fixture
def globex_people(globex, bob, make_member):
    return {
        "author": bob,
        Role.PLANNER: make_member("bert", globex, Role.PLANNER),
        Role.CLIENT: make_member("gina", globex, Role.CLIENT),
        Role.LEGAL: make_member("leo", globex, Role.LEGAL),
    }


def open_tickets(version):
    return list(
        Ticket.objects.filter(
            tenant_id=version.tenant_id, subject_id=str(version.number), status=TicketStatus.OPEN
        ).order_by("type")
    )


def decide_all(version, people, *, skip_roles=()):
    """Every open ticket of the version approved by a person for each required role."""
    for ticket in open_tickets(version):
        for slot in ticket.required_roles:
            role = slot.split("/")[0]
            if role in skip_roles:
                continue
            ticket_decide(
                ticket=ticket, actor=Actor.for_user(people[role]), verdict="approve", role=role
            )


def revise(tenant, alice, payload, kind="revise", **kw):
    return plan_version_create_draft(
        tenant=tenant,
        track_key="always_on",
        kind=kind,
        payload=payload,
        actor=Actor.for_user(alice),
        reason="search is converting well",
        **kw,
    )


def test_a_draft_gets_the_next_number_the_classifier_path_and_an_audit_row(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    assert (draft.number, draft.status, draft.kind, draft.path) == (2, "draft", "revise", "revise")
    assert draft.parent == acme_v1
    assert draft.payload["channels"][0]["budget"] == "44800.00"
    event = AuditEvent.objects.get(action="plan_version.drafted", plan_version=2)
    assert event.actor_label == "alice"
    assert event.data["path"] == "revise"
    assert event.payload_hash == draft.payload_hash


def test_a_kind_that_contradicts_the_classifier_is_refused_and_writes_nothing(acme, alice, acme_v1):
    events = AuditEvent.objects.count()
    with_tiktok = changed(
        WINTER,
        lambda p: p["channels"].append(
            {"channel": "tiktok", "platform": "tiktok_ads", "budget": 5000, "flights": []}
        ),
    )
    with pytest.raises(PlanError) as error:
        revise(acme, alice, with_tiktok)
    assert error.value.code == "kind_contradicts_classifier"
    assert "new channel tiktok is a structural change" in error.value.message
    assert PlanVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_an_invalid_payload_is_refused_with_every_problem(acme, alice):
    with pytest.raises(PlanError) as error:
        revise(acme, alice, changed(WINTER, lambda p: p.update(end="2026-01-01")), kind="initial")
    assert error.value.code == "invalid_payload"
    assert "the plan ends (2026-01-01) before it starts (2026-11-01)" in error.value.message
    assert not Track.objects.exists()


def test_an_initial_plan_opens_a1_for_the_planner_and_a7_for_new_messaging(acme, acme_people):
    draft = revise(acme, acme_people["author"], WINTER, kind="initial")
    plan_version_submit(version=draft, actor=Actor.for_user(acme_people["author"]))
    draft.refresh_from_db()
    assert draft.status == PlanStatus.PENDING_APPROVAL
    tickets = open_tickets(draft)
    assert [(t.type, t.required_roles) for t in tickets] == [
        ("A1", ["planner"]),
        ("A7", ["planner", "legal"]),
    ]
    assert tickets[0].plan_version == draft.number
    assert tickets[0].diff["summary"][0].startswith("New plan from 1 Nov 2026")
    decide_all(draft, acme_people)
    draft.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED
    assert Track.objects.get(tenant=acme, key="always_on").current_version == draft


def test_a_budget_up_revise_needs_the_client_and_supersedes_vn_when_approved(
    acme, acme_people, acme_v1
):
    planner = acme_people["author"]
    draft = revise(acme, planner, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    (a5,) = open_tickets(draft)
    assert a5.type == "A5"
    assert a5.required_roles == ["planner", "client"]
    assert a5.client_visible is True
    assert a5.diff["summary"][0] == "Search budget up 12% (€40,000 → €44,800) from 1 Dec."
    assert a5.diff["budget_table"]["totals"][3] == "74800.00"
    assert "the budget rises 6.9%, above the client threshold of 0%" in a5.summary

    decide_all(draft, acme_people, skip_roles=(Role.CLIENT,))
    draft.refresh_from_db()
    assert draft.status == PlanStatus.PENDING_APPROVAL  # the client has not signed off yet

    decide_all(draft, acme_people)
    draft.refresh_from_db()
    acme_v1.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED
    assert draft.approved_by == "carol"
    assert acme_v1.status == PlanStatus.SUPERSEDED
    assert acme_v1.superseded_at == draft.approved_at
    assert Track.objects.get(tenant=acme, key="always_on").current_version == draft
    assert draft.remaining_delta["remaining"][0]["action"] == "launch"  # nothing live yet
    actions = list(
        AuditEvent.objects.filter(plan_version__in=[1, 2]).values_list("action", flat=True)
    )
    assert "plan_version.superseded" in actions and "plan_version.approved" in actions


def test_a_budget_down_revise_needs_only_the_planner(acme, acme_people, acme_v1):
    def cut(plan):
        channel(plan, "social")["budget"] = 24000
        channel(plan, "social")["flights"][2]["budget"] = 2000

    draft = revise(acme, acme_people[Role.PLANNER], changed(WINTER, cut))
    plan_version_submit(version=draft, actor=Actor.for_user(acme_people[Role.PLANNER]))
    assert [(t.type, t.required_roles) for t in open_tickets(draft)] == [("A5", ["planner"])]


def test_a_replan_always_needs_the_client(acme, acme_people, acme_v1):
    geo = changed(WINTER, lambda p: p["geos"].append("CH"))
    draft = revise(acme, acme_people[Role.PLANNER], geo, kind="replan")
    plan_version_submit(version=draft, actor=Actor.for_user(acme_people[Role.PLANNER]))
    assert open_tickets(draft)[0].required_roles == ["planner", "client"]


def test_a_messaging_change_on_globex_opens_a7_with_legal(globex, globex_people):
    plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=changed(WINTER, lambda p: p.update(geos=["US"], currency="USD")),
        actor=SEED,
        approved_by="globex",
    )
    planner = globex_people["author"]
    current = Track.objects.get(tenant=globex, key="always_on").current_version
    new_words = changed(current.payload, lambda p: p.update(messaging="Care, closer to home."))
    draft = revise(globex, planner, new_words)
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    a5, a7 = open_tickets(draft)
    assert (a5.type, a7.type) == ("A5", "A7")
    assert a7.required_roles == ["planner", "legal"]
    assert "the messaging changes" in a7.summary
    assert "health_strict" in a7.summary
    decide_all(draft, globex_people, skip_roles=(Role.LEGAL,))
    draft.refresh_from_db()
    assert draft.status == PlanStatus.PENDING_APPROVAL  # legal has not signed the A7
    decide_all(draft, globex_people)
    draft.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED


def test_a_failure_half_way_through_approval_leaves_neither_version_changed(
    acme, acme_people, acme_v1, monkeypatch
):
    planner = acme_people["author"]
    draft = revise(acme, planner, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    decide_all(draft, acme_people, skip_roles=(Role.CLIENT,))

    def explode(version, **kwargs):  # runs after vN was superseded, before vN+1 is approved
        assert PlanVersion.objects.get(pk=acme_v1.pk).status == PlanStatus.SUPERSEDED
        raise RuntimeError("manifest store unavailable")

    monkeypatch.setattr(services.transitions, "remaining_delta_for", explode)
    (a5,) = open_tickets(draft)
    with pytest.raises(RuntimeError):
        ticket_decide(
            ticket=a5,
            actor=Actor.for_user(acme_people[Role.CLIENT]),
            verdict="approve",
            role="client",
        )
    acme_v1.refresh_from_db()
    draft.refresh_from_db()
    a5.refresh_from_db()
    assert acme_v1.status == PlanStatus.APPROVED
    assert draft.status == PlanStatus.PENDING_APPROVAL
    assert a5.status == TicketStatus.OPEN
    assert Track.objects.get(tenant=acme, key="always_on").current_version == acme_v1
    assert not AuditEvent.objects.filter(action="plan_version.superseded").exists()


def test_a_rejection_rejects_the_version_and_cancels_its_other_tickets(acme, acme_people):
    planner = acme_people["author"]
    draft = revise(acme, planner, WINTER, kind="initial")
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    a1, a7 = open_tickets(draft)
    ticket_decide(
        ticket=a7,
        actor=Actor.for_user(acme_people[Role.LEGAL]),
        verdict="reject",
        comment="claims need a source",
        role="legal",
    )
    draft.refresh_from_db()
    a1.refresh_from_db()
    assert draft.status == PlanStatus.REJECTED
    assert draft.rejected_by == "lena"
    assert a1.status == TicketStatus.CANCELLED


def test_request_changes_returns_the_draft_for_editing(acme, acme_people, acme_v1):
    planner = acme_people["author"]
    draft = revise(acme, planner, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    (a5,) = open_tickets(draft)
    ticket_decide(
        ticket=a5,
        actor=Actor.for_user(acme_people[Role.CLIENT]),
        verdict="request_changes",
        comment="keep search flat in December",
        role="client",
    )
    draft.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT
    edited = plan_version_edit(
        version=draft,
        payload=changed(WINTER, lambda p: p["kpi_targets"].update(cpa=36)),
        actor=Actor.for_user(planner),
    )
    assert edited.payload["kpi_targets"]["cpa"] == "36"
    plan_version_submit(version=edited, actor=Actor.for_user(planner))
    assert [t.required_roles for t in open_tickets(edited)] == [["planner"]]


def test_withdraw_cancels_the_tickets_and_returns_to_draft(acme, acme_people, acme_v1):
    planner = acme_people["author"]
    draft = revise(acme, planner, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    (a5,) = open_tickets(draft)
    plan_version_withdraw(version=draft, actor=Actor.for_user(planner))
    draft.refresh_from_db()
    a5.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT
    assert a5.status == TicketStatus.CANCELLED
    assert AuditEvent.objects.filter(action="plan_version.withdrawn", plan_version=2).exists()


def test_only_drafts_are_editable(acme, alice, acme_v1):
    with pytest.raises(PlanStateError) as error:
        plan_version_edit(version=acme_v1, payload=WINTER, actor=Actor.for_user(alice))
    assert "only drafts are editable" in error.value.message


def test_submitting_twice_opens_the_tickets_once(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(alice))
    plan_version_submit(version=draft, actor=Actor.for_user(alice))
    assert Ticket.objects.filter(subject_id=str(draft.number)).count() == 1


def test_a_draft_from_a_superseded_parent_is_outdated_and_carried_forward_not_submitted(
    acme, acme_people, acme_v1
):
    planner = acme_people["author"]
    first = revise(acme, planner, changed(WINTER, search_up_12_pct))
    second = revise(acme, planner, changed(WINTER, lambda p: p["kpi_targets"].update(cpa=36)))
    plan_version_submit(version=first, actor=Actor.for_user(planner))
    decide_all(first, acme_people)
    second.refresh_from_db()
    assert second.status == PlanStatus.OUTDATED
    with pytest.raises(PlanStateError):
        plan_version_submit(version=second, actor=Actor.for_user(planner))
    with pytest.raises(PlanStateError):
        plan_version_edit(
            version=second, payload=second.payload, actor=Actor.for_user(planner), reason="x"
        )
    # Carrying it forward drafts it again on the new current version.
    carried = services.plan_version_carry_forward(version=second, actor=Actor.for_user(planner))
    assert carried.parent == first
    assert carried.payload["kpi_targets"]["cpa"] == "36"


@pytest.fixture
def acme_envelope(acme):
    return master_plan_set(
        tenant=acme,
        period_start=date(2026, 10, 1),
        period_end=date(2027, 3, 31),
        currency="EUR",
        total_budget=Decimal("100000"),
        track_caps={"always_on": "75000"},
        actor=SEED,
    )


def test_setting_the_same_envelope_again_writes_nothing_and_a_change_is_audited(
    acme, acme_envelope
):
    def set_envelope(total):
        return master_plan_set(
            tenant=acme,
            period_start=date(2026, 10, 1),
            period_end=date(2027, 3, 31),
            currency="eur",
            total_budget=total,
            track_caps={"always_on": "75000"},
            actor=SEED,
        )

    def audited():
        return AuditEvent.objects.filter(tenant=acme, action="master_plan.set").count()

    assert audited() == 1
    set_envelope(Decimal("100000"))
    assert audited() == 1
    set_envelope(Decimal("120000"))
    assert audited() == 2
    master = MasterPlan.objects.get(tenant=acme)
    assert (master.total_budget, master.currency) == (Decimal("120000"), "EUR")


def test_a_revise_that_breaks_the_master_envelope_needs_a_master_change(
    acme, acme_people, acme_v1, acme_envelope
):
    planner = acme_people["author"]
    over_cap = changed(WINTER, search_up_12_pct)  # 74,800: fits the cap of 75,000
    fits = revise(acme, planner, over_cap)
    plan_version_submit(version=fits, actor=Actor.for_user(planner))
    plan_version_withdraw(version=fits, actor=Actor.for_user(planner))

    def much_more(plan):
        channel(plan, "search")["budget"] = 60000

    draft = revise(acme, planner, changed(WINTER, much_more))
    with pytest.raises(PlanError) as error:
        plan_version_submit(version=draft, actor=Actor.for_user(planner))
    assert error.value.code == "breaks_master_envelope"
    assert "always_on would plan €90,000, above its cap of €75,000" in error.value.message

    with_master = revise(
        acme,
        planner,
        changed(WINTER, much_more),
        master_change={"total_budget": "120000", "track_caps": {"always_on": "95000"}},
    )
    plan_version_submit(version=with_master, actor=Actor.for_user(planner))
    (a5,) = open_tickets(with_master)
    assert a5.required_roles == ["planner", "client"]
    assert "the master budget envelope changes" in a5.summary
    decide_all(with_master, acme_people)
    master = MasterPlan.objects.get(pk=acme_envelope.pk)
    assert master.total_budget == Decimal("120000.00")
    assert master.track_caps["always_on"] == "95000.00"
    assert AuditEvent.objects.filter(action="master_plan.changed").count() == 1


def test_approval_records_what_the_live_manifest_still_has_to_align(
    acme, acme_people, acme_v1, time_machine
):
    from optimization.services import manifest_sync

    time_machine.move_to("2026-12-05 12:00:00+01:00")
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[
            # The optimizer already raised search to the revised December pace (19,800 / 31).
            {
                "platform": "google_ads",
                "entity_id": "cmp-1",
                "channel": "search",
                "plan_version": 1,
                "state": {"daily_budget": "638.71", "status": "active"},
            },
            {
                "platform": "meta",
                "entity_id": "adset-9",
                "channel": "social",
                "plan_version": 1,
                "state": {"daily_budget": "300.00", "status": "active"},
            },
        ],
        actor=SEED,
        launched_by="tests",
    )
    planner = acme_people["author"]
    draft = revise(acme, planner, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    decide_all(draft, acme_people)
    draft.refresh_from_db()
    assert draft.remaining_delta["as_of"] == "2026-12-05"
    assert [a["channel"] for a in draft.remaining_delta["applied"]] == ["search"]
    assert draft.remaining_delta["remaining"] == [
        {
            "channel": "social",
            "action": "set_daily_budget",
            "field": "daily_budget",
            "live": "300.00",
            "target": "387.10",
            "entity_ids": ["adset-9"],
        }
    ]


def test_the_demo_world_has_acme_history_and_globex_current_plan():
    from django.core.management import call_command

    from optimization.models import ExecutionManifestEntry

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: nothing new the second time
    acme_versions = list(
        PlanVersion.objects.filter(tenant__slug="acme", number__lte=4)
        .order_by("number")
        .values_list("number", "track__key", "kind", "status")
    )
    assert acme_versions == [
        (1, "always_on", "initial", "superseded"),
        (2, "always_on", "revise", "superseded"),
        (3, "always_on", "replan", "approved"),
        (4, "branding", "track_draft", "approved"),
    ]
    v3 = PlanVersion.objects.get(tenant__slug="acme", number=3)
    assert v3.approved_by == "client"  # the replan needed the client's sign-off, given last
    assert Track.objects.get(tenant__slug="acme", key="always_on").current_version == v3
    globex = Track.objects.get(tenant__slug="globex", key="always_on")
    assert globex.current_version.status == PlanStatus.APPROVED
    assert ExecutionManifestEntry.objects.filter(tenant__slug="acme").count() == 5
    assert ExecutionManifestEntry.objects.filter(tenant__slug="globex").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_two_tickets_approved_at_once_still_approve_the_version(globex, globex_people):
    import threading

    from django.db import connection

    plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=WINTER,
        actor=SEED,
        approved_by="globex",
    )
    planner = globex_people["author"]
    new_words = changed(WINTER, lambda p: p.update(messaging="Care, closer to home."))
    draft = revise(globex, planner, new_words)
    plan_version_submit(version=draft, actor=Actor.for_user(planner))
    a5, a7 = open_tickets(draft)
    approver = globex_people[Role.PLANNER]
    ticket_decide(ticket=a7, actor=Actor.for_user(approver), verdict="approve", role="planner")
    barrier, errors = threading.Barrier(2), []

    def approve(ticket, person, role):
        try:
            barrier.wait()
            ticket_decide(ticket=ticket, actor=Actor.for_user(person), verdict="approve", role=role)
        except Exception as exc:  # reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(a5, approver, "planner")),
        threading.Thread(target=approve, args=(a7, globex_people[Role.LEGAL], "legal")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    draft.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED


def test_the_overview_shows_tracks_current_versions_pending_drafts_and_envelope_use(
    acme, alice, acme_v1, acme_envelope
):
    from plans.selectors import plan_overview

    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    overview = plan_overview(tenant=acme)
    (row,) = overview.tracks
    assert row.track.key == "always_on"
    assert row.current == acme_v1
    assert row.pending == [draft]
    assert row.budget == Decimal("70000")
    assert row.cap == Decimal("75000")
    assert overview.envelope_used_pct == Decimal("70.0")


def test_timeline_detail_and_compare_read_one_tenant_only(acme, globex, alice, acme_v1):
    from django.http import Http404

    from plans.selectors import track_timeline, version_detail, versions_compare

    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    assert [v.number for v in track_timeline(tenant=acme, key="always_on")] == [2, 1]
    detail = version_detail(tenant=acme, number=2)
    assert detail["parent"] == acme_v1
    assert detail["summary"]["summary"][0].startswith("Search budget up 12%")
    assert detail["approval_needs"].required_roles == ("planner", "client")
    assert detail["manifest_diff"]["remaining"][0]["action"] == "launch"
    compared = versions_compare(tenant=acme, left=1, right=draft.number)
    assert compared["diff"]["totals"]["change"] == "4800.00"
    with pytest.raises(Http404):
        version_detail(tenant=globex, number=1)
    with pytest.raises(Http404):
        track_timeline(tenant=globex, key="always_on")


def test_a_drift_recommendation_may_codify_a_small_move_as_a_revise(acme, acme_v1):
    def small_move(plan):  # search +5% spread over its flights: an optimization on its own
        search = channel(plan, "search")
        search["budget"] = 42000
        for flight, budget in zip(search["flights"], (15750, 15750, 10500), strict=True):
            flight["budget"] = budget

    recommendation = Actor.service("revise-trigger-scan")
    with pytest.raises(PlanError):
        plan_version_create_draft(
            tenant=acme,
            track_key="always_on",
            kind="revise",
            payload=changed(WINTER, small_move),
            actor=recommendation,
        )
    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(WINTER, small_move),
        actor=recommendation,
        trigger="recommendation",
        drift_pct_by_channel={"search": Decimal("17.5")},
    )
    assert draft.path == "revise"
    assert "cumulative drift search 17.5%" in draft.path_reason
