"""Change sets through the real services: guardrails at their boundaries, A3 and A2, blocked
structural changes, safe apply, approve with an edit, rollback, pause all spend and lapse."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from config.errors import Blocked, Conflict
from optimization.models import (
    AppliedChange,
    ChangeSet,
    ChangeSetEvent,
    ChangeSetItem,
    ChangeSetStatus,
    ExecutionManifestEntry,
)
from optimization.services import (
    ChangeSetError,
    ChangeSetRequest,
    ChangeSetStale,
    change_set_approve_with_edit,
    change_set_rollback,
    change_set_submit,
    change_sets_lapse,
    rollback_preview,
    track_hold_end,
    track_hold_start,
)
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


def submit(tenant, *items, change_set_id=None, **kwargs):
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=change_set_id or f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=list(items),
            agent="optimizer",
            reason="CPA is good",
            **kwargs,
        ),
        actor=AGENT,
    )


def budget(entity_id, before, after):
    return {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}


def live_budget(entity_id) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


def ticket_of(change_set) -> Ticket:
    return Ticket.objects.get(public_id=change_set.ticket)


# --- Guardrails at their boundaries ----------------------------------------------------------
@pytest.mark.parametrize(
    ("after", "status", "path"),
    [
        ("350.00", "applied", "optimization"),  # +50 of €500 live: exactly 10%
        ("350.05", "pending_approval", "optimization"),  # 10.01%
        ("250.00", "applied", "optimization"),  # −10%
        ("249.95", "pending_approval", "optimization"),  # −10.01%
    ],
    ids=["exactly-10pct", "10.01pct", "minus-10pct", "minus-10.01pct"],
)
def test_the_move_guardrail_is_inclusive(live, after, status, path):
    change_set = submit(live, budget("search-brand", "300.00", after))
    assert (change_set.status, change_set.path) == (status, path)
    expected = after if status == "applied" else "300.00"
    assert live_budget("search-brand") == expected
    if status == "pending_approval":
        ticket = ticket_of(change_set)
        assert ticket.type == "A3"
        assert "beyond the 10% guardrail" in change_set.status_reason


def test_the_drift_bound_counts_what_was_applied_before(live):
    first = submit(live, budget("search-brand", "300.00", "350.00"))  # drift 10%
    assert first.status == "applied"
    second = submit(live, budget("search-generic", "200.00", "225.00"))  # +25: 5% move, drift 15%
    assert second.status == "applied"
    third = submit(live, budget("search-generic", "225.00", "225.05"))  # drift 15.01%
    assert (third.status, third.path) == ("pending_approval", "revise")
    assert "would drift 15.01% from the approved plan, beyond 15%" in third.status_reason


def test_a_change_set_applied_at_once_records_when(live):
    """Only an approval used to set applied_at: a change set within the guardrails answered
    `applied_at: null` on the API and sorted before every approved one in the drift evidence."""
    change_set = submit(live, budget("search-brand", "300.00", "350.00"))
    assert change_set.applied_at is not None
    assert change_set.applied_at == AppliedChange.objects.get(change_set=change_set).applied_at


def test_a_move_back_towards_the_plan_passes_the_drift_bound(live, on_10_november):
    TenantPolicy.objects.filter(tenant=live).update(
        drift_pct=Decimal("5"), client_must_approve_budget_increase=False
    )
    up = submit(live, budget("search-brand", "300.00", "330.00"))  # 6% drift, +10% move
    assert up.status == "pending_approval"
    # A person approves it; then the agent moves part of it back.
    ticket_decide(ticket=ticket_of(up), actor=Actor.for_user(_operator(live)), verdict="approve")
    down = submit(live, budget("search-brand", "330.00", "310.00"))  # drift 2%
    assert down.status == "applied"


def _operator(tenant):
    from tenants.services import membership_set, user_ensure
    from tests.conftest import PASSWORD  # noqa: F401

    user = user_ensure(username="olga", password="x-long-enough-pass")
    membership_set(tenant=tenant, user=user, role=Role.OPERATOR, actor=TEST_ACTOR)
    return user


def test_bids_and_audiences_move_no_budget_and_apply(live):
    change_set = submit(
        live,
        {
            "entity_id": "search-brand",
            "field": "bid_strategy",
            "before": "target_cpa",
            "after": "max_conversions",
        },
    )
    assert change_set.status == "applied"
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["bid_strategy"] == (
        "max_conversions"
    )


def test_a_raise_above_the_client_threshold_adds_the_client_to_the_a3(live):
    change_set = submit(live, budget("search-brand", "300.00", "400.00"))
    assert ticket_of(change_set).required_roles == ["operator", "client"]
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    other = submit(live, budget("search-generic", "200.00", "300.00"))
    assert ticket_of(other).required_roles == ["operator"]


def test_a_first_launch_waits_for_an_a2_when_the_policy_asks(live):
    change_set = submit(
        live, {"entity_id": "search-new", "field": "status", "before": "paused", "after": "active"}
    )
    assert change_set.status == "pending_approval"
    assert ticket_of(change_set).type == "A2"
    TenantPolicy.objects.filter(tenant=live).update(first_launch_requires_human=False)
    again = submit(
        live, {"entity_id": "search-new", "field": "status", "before": "paused", "after": "active"}
    )
    assert again.status == "applied"
    assert ExecutionManifestEntry.objects.get(entity_id="search-new").first_active_at is not None


def test_reactivating_an_entity_that_was_live_is_no_first_launch(live):
    pause = {"entity_id": "search-brand", "field": "status", "before": "active", "after": "paused"}
    assert submit(live, pause).status == "applied"
    resume = {**pause, "before": "paused", "after": "active"}
    assert submit(live, resume).status == "applied"


@pytest.mark.parametrize(
    ("field", "after", "path"),
    [("channel", "tiktok", "replan"), ("objective", "leads", "replan"), ("geo", "FR", "replan")],
)
def test_a_structural_change_is_blocked_and_counted(live, field, after, path):
    events = AuditEvent.objects.count()
    change_set = submit(live, {"entity_id": None, "field": field, "before": None, "after": after})
    assert (change_set.status, change_set.path) == ("blocked", path)
    assert "structural" in change_set.status_reason
    assert not Ticket.objects.exists()
    assert list(change_set.events.values_list("kind", flat=True)) == ["proposed", "blocked"]
    assert AuditEvent.objects.count() == events + 1


# --- Bad input writes nothing ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("item", "code"),
    [
        (budget("no-such-entity", "1", "2"), "unknown_entity"),
        (budget("search-brand", "300.00", "-5"), "invalid_change_set"),
        (budget("search-brand", "300.00", "NaN"), "invalid_change_set"),
        (
            {"entity_id": "search-brand", "field": "status", "before": "active", "after": "on"},
            "invalid_change_set",
        ),
        (
            {"entity_id": "search-brand", "field": "colour", "before": 1, "after": 2},
            "invalid_change_set",
        ),
    ],
    ids=["unknown-entity", "negative", "nan", "bad-status", "unknown-field"],
)
def test_bad_items_are_refused_and_write_nothing(live, item, code):
    events = AuditEvent.objects.count()
    with pytest.raises(ChangeSetError) as error:
        submit(live, item)
    assert error.value.code == code
    assert error.value.status == 422
    assert not ChangeSet.objects.exists()
    assert AuditEvent.objects.count() == events


def test_an_unknown_track_is_refused(live):
    with pytest.raises(ChangeSetError) as error:
        change_set_submit(
            tenant=live,
            request=ChangeSetRequest(
                change_set_id="cs-x", track="branding", items=[budget("search-brand", "300", "310")]
            ),
            actor=AGENT,
        )
    assert error.value.code == "unknown_track"


def test_a_before_that_is_not_live_is_a_conflict_naming_the_entity(live):
    with pytest.raises(ChangeSetStale) as error:
        submit(live, budget("search-brand", "280.00", "300.00"))
    assert "live daily budget of search-brand is now €300, not €280" in error.value.message
    assert error.value.status == 409
    assert not ChangeSet.objects.exists()


def test_a_run_blocked_by_its_cost_guard_is_refused_with_423(live):
    from agents.services import run_create, run_spend

    run_create(
        tenant=live,
        run_id="run-7",
        main_task_id="budget-pacing",
        agent="optimizer",
        model="m",
        estimated_cost_usd="1.00",
        actor=AGENT,
    )
    run_spend(tenant=live, run_id="run-7", input_tokens=1, output_tokens=1, cost_usd="3.00")
    with pytest.raises(Blocked) as error:
        submit(live, budget("search-brand", "300.00", "310.00"), run_id="run-7")
    assert (error.value.status, error.value.code) == (423, "run_blocked")
    assert "The Cost Guard tripped on run run-7" in error.value.message
    assert not ChangeSet.objects.exists()


# --- Safe apply, edit, lapse -------------------------------------------------------------------
def test_an_approved_a3_applies_and_logs_each_step(live, people):
    change_set = submit(live, budget("search-brand", "300.00", "390.00"))  # +18%
    operator, client = Actor.for_user(people[Role.OPERATOR]), Actor.for_user(people[Role.CLIENT])
    ticket_decide(ticket=ticket_of(change_set), actor=operator, verdict="approve")
    ticket_decide(ticket=ticket_of(change_set), actor=client, verdict="approve")
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert live_budget("search-brand") == "390.00"
    assert AppliedChange.objects.get().delta == Decimal("90.00")
    assert list(change_set.events.values_list("kind", flat=True)) == [
        "proposed",
        "pending_approval",
        "applied",
    ]


def test_a_stale_approval_applies_nothing_and_says_what_moved(live, people):
    change_set = submit(live, budget("search-brand", "300.00", "390.00"))
    # Meanwhile the agent moves the same entity within the guardrails.
    assert submit(live, budget("search-brand", "300.00", "320.00")).status == "applied"
    ticket = ticket_of(change_set)
    for role in (Role.OPERATOR, Role.CLIENT):
        ticket_decide(ticket=ticket, actor=Actor.for_user(people[role]), verdict="approve")
    change_set.refresh_from_db()
    assert change_set.status == "stale"
    assert "live daily budget of search-brand is now €320, not €300" in change_set.status_reason
    assert live_budget("search-brand") == "320.00"
    assert ticket.comments.get().body == change_set.status_reason


def test_an_operator_approves_a_smaller_move_and_both_are_recorded(live, people):
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    change_set = submit(live, budget("search-brand", "300.00", "390.00"))  # +18% of €500
    change_set_approve_with_edit(
        change_set=change_set,
        actor=Actor.for_user(people[Role.OPERATOR]),
        approved={0: "350.00"},  # +10%
    )
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert live_budget("search-brand") == "350.00"
    item = ChangeSetItem.objects.get(change_set=change_set)
    assert (item.before, item.after) == ("300.00", "390.00")  # the asked move stays
    applied = AppliedChange.objects.get(change_set=change_set)
    assert (applied.after, applied.delta) == ("350.00", Decimal("50.00"))
    edit = change_set.events.get(kind="edited")
    assert edit.data["approved"] == {"0": "350.00"}
    assert "Within the guardrails" in edit.message


@pytest.mark.parametrize("after", ["400.00", "290.00"], ids=["bigger", "other-direction"])
def test_an_edit_must_be_a_smaller_move_in_the_same_direction(live, people, after):
    change_set = submit(live, budget("search-brand", "300.00", "390.00"))
    with pytest.raises(ChangeSetError):
        change_set_approve_with_edit(
            change_set=change_set,
            actor=Actor.for_user(people[Role.OPERATOR]),
            approved={0: after},
        )
    assert ticket_of(change_set).status == TicketStatus.OPEN


def test_an_a3_open_past_its_sla_and_the_lapse_days_lapses(live, on_10_november):
    change_set = submit(live, budget("search-brand", "300.00", "390.00"))
    ticket = ticket_of(change_set)
    assert change_sets_lapse().lapsed == 0
    on_10_november.move_to(ticket.sla_due_at + timedelta(days=1))
    assert change_sets_lapse().lapsed == 0  # one calendar day past the SLA: not yet
    on_10_november.shift(timedelta(days=5))
    assert change_sets_lapse().lapsed == 1
    change_set.refresh_from_db()
    ticket.refresh_from_db()
    assert (change_set.status, ticket.status) == ("lapsed", "cancelled")
    assert live_budget("search-brand") == "300.00"
    assert change_sets_lapse().lapsed == 0


# --- Rollback and the hold ---------------------------------------------------------------------
def test_a_rollback_is_a_new_change_set_through_the_same_guardrails(live):
    applied = submit(live, budget("search-brand", "300.00", "350.00"))
    preview = rollback_preview(change_set=applied)
    assert preview.possible
    assert [(i.entity_id, i.before, i.after) for i in preview.items] == [
        ("search-brand", "350.00", "300.00")
    ]
    assert preview.verdict.status == "applied"
    rollback = change_set_rollback(change_set=applied, actor=Actor.for_user(_operator(live)))
    assert (rollback.kind, rollback.status, rollback.reverts) == ("rollback", "applied", applied)
    assert live_budget("search-brand") == "300.00"
    assert "rolled_back" in applied.events.values_list("kind", flat=True)
    with pytest.raises(Conflict, match="rolled back already"):
        change_set_rollback(change_set=applied, actor=AGENT)


def test_a_rollback_beyond_the_guardrail_waits_for_its_own_a3(live, people):
    big = submit(live, budget("search-brand", "300.00", "390.00"))
    for role in (Role.OPERATOR, Role.CLIENT):
        ticket_decide(ticket=ticket_of(big), actor=Actor.for_user(people[role]), verdict="approve")
    rollback = change_set_rollback(change_set=big, actor=Actor.for_user(people[Role.OPERATOR]))
    assert rollback.status == "pending_approval"
    assert ticket_of(rollback).type == "A3"
    assert live_budget("search-brand") == "390.00"


def test_a_rollback_refuses_when_the_live_state_moved_since(live):
    applied = submit(live, budget("search-brand", "300.00", "330.00"))
    submit(live, budget("search-brand", "330.00", "340.00"))
    preview = rollback_preview(change_set=applied)
    assert not preview.possible
    assert "search-brand" in preview.refusal


def test_pause_all_spend_pauses_every_live_entity_and_resume_restores_them(live):
    operator = Actor.for_user(_operator(live))
    hold = track_hold_start(track=live_track(live), actor=operator, reason="client asked")
    states = dict(ExecutionManifestEntry.objects.values_list("entity_id", "state__status"))
    assert states == {
        "search-brand": "paused",
        "search-generic": "paused",
        "social-prospecting": "paused",
        "search-new": "paused",
    }
    with pytest.raises(Blocked) as error:
        submit(live, budget("search-brand", "300.00", "310.00"))
    assert error.value.code == "track_on_hold"
    track_hold_end(track=live_track(live), actor=operator)
    states = dict(ExecutionManifestEntry.objects.values_list("entity_id", "state__status"))
    assert states["search-brand"] == states["social-prospecting"] == "active"
    assert states["search-new"] == "paused"  # never live: the hold did not pause it
    hold.refresh_from_db()
    assert hold.resume.status == "applied"
    assert AuditEvent.objects.filter(action__startswith="track.hold").count() == 2


def live_track(tenant):
    from plans.models import Track

    return Track.objects.get(tenant=tenant, key="always_on")


# --- The log is append-only ------------------------------------------------------------------
def test_the_database_refuses_to_edit_the_log(live):
    change_set = submit(live, budget("search-brand", "300.00", "350.00"))
    for model, changes in [
        (ChangeSetItem, {"after": "999.00"}),
        (ChangeSetEvent, {"message": "rewritten"}),
        (AppliedChange, {"after": "999.00"}),
        (ChangeSet, {"status": "rejected"}),
        (ChangeSet, {"reason": "rewritten"}),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.filter(pk__in=model.objects.values("pk")).update(**changes)
    with pytest.raises(DatabaseError), transaction.atomic():
        ChangeSet.objects.filter(pk=change_set.pk).delete()
    assert ChangeSet.objects.get().status == ChangeSetStatus.APPLIED


def test_the_guardrail_check_keeps_the_bounds_it_was_judged_by(live):
    change_set = submit(live, budget("search-brand", "300.00", "350.00"))
    assert (change_set.guardrails["optimization_pct"], change_set.guardrails["drift_pct"]) == (
        "10.00",
        "15.00",
    )


def test_pause_all_spend_pauses_an_entity_whose_status_was_never_stated(live):
    from optimization.services import manifest_sync
    from tests.optimization.conftest import entry

    unstated = entry("search-legacy", "search", "10.00")
    del unstated["state"]["status"]
    manifest_sync(
        tenant=live,
        track_key="always_on",
        entries=[unstated],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    track_hold_start(track=live_track(live), actor=Actor.for_user(_operator(live)), reason="stop")
    assert ExecutionManifestEntry.objects.get(entity_id="search-legacy").state["status"] == "paused"


def test_a_seasonal_change_that_starts_in_the_past_is_refused(live):
    from optimization.services import seasonal_change_set
    from optimization.services.seasonal import SeasonalChangeError

    with pytest.raises(SeasonalChangeError) as error:
        seasonal_change_set(
            track=live_track(live),
            channel="search",
            starts_on=date(2026, 11, 9),
            ends_on=date(2026, 11, 20),
            budget=Decimal("1000"),
            note="",
            actor=TEST_ACTOR,
        )
    assert "starts_on" in error.value.fields
