"""A draft's own ends: discarding it (its number stays used) and proposing a new master envelope
with it, approved by the client through the version's ticket (plans/services/drafts.py)."""

from datetime import date
from decimal import Decimal

import pytest

from audit.actors import Actor
from audit.models import AuditEvent
from plans.envelope import envelope_evaluate
from plans.models import MasterPlan, PlanStatus, PlanVersion
from plans.services import (
    PlanError,
    PlanStateError,
    master_plan_set,
    plan_version_discard,
    plan_version_edit,
    plan_version_propose_envelope,
    plan_version_submit,
)
from tenants.models import Role
from tests.plans.plan_samples import changed, channel, search_up_12_pct, winter_plan
from tests.plans.test_services import decide_all, open_tickets, revise

pytestmark = pytest.mark.django_db
WINTER = winter_plan()
SEED = Actor.system("tests")


@pytest.fixture
def people(acme, alice, make_member):
    return {
        "author": alice,
        Role.PLANNER: make_member("pete", acme, Role.PLANNER),
        Role.CLIENT: make_member("carol", acme, Role.CLIENT),
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),
    }


@pytest.fixture
def envelope(acme):
    return master_plan_set(
        tenant=acme,
        period_start=date(2026, 10, 1),
        period_end=date(2027, 3, 31),
        currency="EUR",
        total_budget=Decimal("100000"),
        track_caps={"always_on": "75000", "branding": "20000"},
        actor=SEED,
    )


def search_at(budget: int):
    def change(plan):
        channel(plan, "search")["budget"] = budget

    return change


# --- Discard -------------------------------------------------------------------------------------
def test_a_discarded_draft_keeps_its_number_and_the_next_draft_takes_a_new_one(
    acme, alice, acme_v1
):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))

    plan_version_discard(version=draft, actor=Actor.for_user(alice), note="superseded by a replan")

    draft.refresh_from_db()
    assert draft.status == PlanStatus.DISCARDED
    assert draft.discarded_by == "alice" and draft.discarded_at is not None
    event = AuditEvent.objects.get(action="plan_version.discarded")
    assert (event.plan_version, event.actor_label) == (2, "alice")
    assert event.data == {"track": "always_on", "note": "superseded by a replan"}
    again = revise(acme, alice, changed(WINTER, search_up_12_pct))
    assert again.number == 3
    assert list(PlanVersion.objects.order_by("number").values_list("number", "status")) == [
        (1, "approved"),
        (2, "discarded"),
        (3, "draft"),
    ]


def test_discarding_twice_is_a_no_op(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    plan_version_discard(version=draft, actor=Actor.for_user(alice))
    events = AuditEvent.objects.count()

    plan_version_discard(version=draft, actor=Actor.for_user(alice))

    assert AuditEvent.objects.count() == events


def test_only_a_draft_can_be_discarded(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    plan_version_submit(version=draft, actor=Actor.for_user(alice))
    events = AuditEvent.objects.count()

    with pytest.raises(PlanStateError) as pending:
        plan_version_discard(version=draft, actor=Actor.for_user(alice))
    with pytest.raises(PlanStateError) as approved:
        plan_version_discard(version=acme_v1, actor=Actor.for_user(alice))

    assert "only a draft can be discarded: withdraw it from approval first" in str(pending.value)
    assert str(approved.value) == "v1 is approved; only a draft can be discarded."
    assert AuditEvent.objects.count() == events
    draft.refresh_from_db()
    assert draft.status == PlanStatus.PENDING_APPROVAL


def test_a_discarded_draft_can_be_neither_edited_nor_submitted(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    plan_version_discard(version=draft, actor=Actor.for_user(alice))

    with pytest.raises(PlanStateError, match="only drafts are editable"):
        plan_version_edit(version=draft, payload=WINTER, actor=Actor.for_user(alice))
    with pytest.raises(PlanStateError, match="only a draft can be submitted"):
        plan_version_submit(version=draft, actor=Actor.for_user(alice))


# --- A new master envelope proposed with a draft ---------------------------------------------
def test_a_draft_that_breaks_its_cap_goes_through_once_it_proposes_a_new_envelope(
    acme, people, acme_v1, envelope
):
    planner = people["author"]
    draft = revise(acme, planner, changed(WINTER, search_at(60000)))  # always_on plans 90,000
    with pytest.raises(PlanError, match="propose a new master envelope"):
        plan_version_submit(version=draft, actor=Actor.for_user(planner))

    plan_version_propose_envelope(
        version=draft,
        master_change={"total_budget": "120000", "track_caps": {"always_on": "95000"}},
        actor=Actor.for_user(planner),
    )
    plan_version_submit(version=draft, actor=Actor.for_user(planner))

    (a5,) = open_tickets(draft)
    assert a5.required_roles == ["planner", "client"]
    assert (
        "Master budget envelope: total €100,000 → €120,000; Always-on cap €75,000 → €95,000."
        in a5.diff["summary"]
    )
    decide_all(draft, people, skip_roles=(Role.CLIENT,))
    assert MasterPlan.objects.get(pk=envelope.pk).total_budget == Decimal("100000.00")
    decide_all(draft, people)
    master = MasterPlan.objects.get(pk=envelope.pk)
    assert master.total_budget == Decimal("120000.00")
    assert master.track_caps == {"always_on": "95000.00", "branding": "20000.00"}
    draft.refresh_from_db()
    assert draft.status == PlanStatus.APPROVED


def test_proposing_an_envelope_is_audited_and_makes_the_planner_the_last_editor(
    acme, people, acme_v1, envelope
):
    draft = revise(acme, people[Role.PLANNER], changed(WINTER, search_up_12_pct))
    alice = people["author"]

    plan_version_propose_envelope(
        version=draft, master_change={"total_budget": "110000"}, actor=Actor.for_user(alice)
    )

    draft.refresh_from_db()
    assert draft.master_change == {"total_budget": "110000.00", "track_caps": {}}
    assert draft.edited_by_user == alice  # four eyes: alice may no longer approve it
    event = AuditEvent.objects.get(action="plan_version.envelope_proposed")
    assert event.data["now"] == {
        "total_budget": "100000.00",
        "track_caps": {"always_on": "75000.00", "branding": "20000.00"},
    }
    assert event.data["proposed"] == {"total_budget": "110000.00", "track_caps": {}}


def test_taking_the_proposal_back_leaves_the_envelope_to_the_client_no_more(
    acme, people, acme_v1, envelope
):
    planner = people["author"]
    draft = revise(
        acme, planner, changed(WINTER, search_up_12_pct), master_change={"total_budget": "110000"}
    )

    plan_version_propose_envelope(version=draft, master_change=None, actor=Actor.for_user(planner))

    draft.refresh_from_db()
    assert draft.master_change is None
    assert AuditEvent.objects.get(action="plan_version.envelope_proposed").data["proposed"] is None


@pytest.mark.parametrize(
    ("master_change", "message"),
    [
        pytest.param(
            {"total_budget": "100000", "track_caps": {"always_on": "75000"}},
            "That is the envelope as it stands",
            id="unchanged",
        ),
        pytest.param({"total_budget": "-5"}, "between 0 and", id="negative"),
        pytest.param(
            {"total_budget": "1", "track_caps": {"Not A Track": "5"}}, "invalid", id="bad-track"
        ),
    ],
)
def test_a_proposal_that_changes_nothing_or_is_invalid_is_refused(
    acme, alice, acme_v1, envelope, master_change, message
):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))
    events = AuditEvent.objects.count()

    with pytest.raises(PlanError, match=message):
        plan_version_propose_envelope(
            version=draft, master_change=master_change, actor=Actor.for_user(alice)
        )

    draft.refresh_from_db()
    assert draft.master_change is None
    assert AuditEvent.objects.count() == events


def test_without_a_master_plan_there_is_no_envelope_to_change(acme, alice, acme_v1):
    draft = revise(acme, alice, changed(WINTER, search_up_12_pct))

    with pytest.raises(PlanError, match="No master envelope covers v2"):
        plan_version_propose_envelope(
            version=draft, master_change={"total_budget": "1"}, actor=Actor.for_user(alice)
        )


def test_only_a_draft_proposes_an_envelope(acme, alice, acme_v1, envelope):
    with pytest.raises(PlanStateError, match="only a draft can propose a new master envelope"):
        plan_version_propose_envelope(
            version=acme_v1, master_change={"total_budget": "1"}, actor=Actor.for_user(alice)
        )


def test_a_proposal_naming_other_tracks_keeps_this_tracks_cap_when_judged():
    # Approval merges the proposed caps into today's; judging the proposal must do the same,
    # or a proposal naming only branding would wave always_on past its cap.
    master = MasterPlan(
        currency="EUR", total_budget=Decimal("100000"), track_caps={"always_on": "75000"}
    )

    check = envelope_evaluate(
        master=master,
        track_key="always_on",
        track_total=Decimal("90000"),
        other_tracks_total=Decimal("0"),
        master_change={"total_budget": "200000", "track_caps": {"branding": "30000"}},
    )

    assert check.problems == ("always_on would plan €90,000, above its cap of €75,000",)
