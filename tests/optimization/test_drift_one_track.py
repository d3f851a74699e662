"""The one drift selector reads one track's moves through a written-out statement (what the
guardrails read for every change set) and many tracks' through the ORM: on any history — several
channels, one without a plan, revises that change some channels and not others, alignments, moves
rolled back, windows of any length, any moment — both give the same rows, the drift page's
listing agrees, and the nets are the ones an independent count of the moves gives."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audit.actors import Actor
from optimization.drift import channel_drift_rows, channel_drifts
from optimization.models import DAILY_BUDGET, AppliedChange, ChangeSet
from optimization.services import ChangeSetRequest, change_set_rollback, change_set_submit
from plans.models import Track
from plans.services import plan_version_import_approved
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW
from tests.plans.plan_samples import changed, event_plan, winter_plan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
CHANNELS = ("search", "social")
TRACK_NUMBERS = itertools.count(1)
MINUTES_A_DAY = 24 * 60


@pytest.fixture
def applied(live, people) -> ChangeSet:
    """A real move applied and rolled back on always_on: its rows are what the generated moves
    are copied from (the selector reads their track, channel, delta, alignment and time)."""
    change_set = change_set_submit(
        tenant=live,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": "300.00",
                    "after": "320.00",
                }
            ],
            agent="optimizer",
        ),
        actor=Actor.service("optimizer"),
    )
    assert change_set.is_applied, change_set.status_reason
    rollback = change_set_rollback(
        change_set=change_set, actor=Actor.for_user(people[Role.OPERATOR])
    )
    assert rollback.is_applied, rollback.status_reason
    return change_set


def import_plan(tenant, key: str, payload: dict, kind: str, at: datetime):
    with time_machine.travel(at, tick=False):
        return plan_version_import_approved(
            tenant=tenant,
            track_key=key,
            kind=kind,
            payload=payload,
            actor=TEST_ACTOR,
            approved_by="tests",
        )


def revised(plan: dict, channels: frozenset[str], number: int) -> dict:
    """`plan` with each of `channels` given €300 more in November; the messaging always differs,
    so a revise that changes no channel is still a new version."""

    def change(payload):
        payload["messaging"] = f"Revise {number}."
        for channel in payload["channels"]:
            if channel["channel"] in channels:
                channel["budget"] += 300
                channel["flights"][0]["budget"] += 300

    return changed(plan, change)


revises = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=12 * MINUTES_A_DAY),
        # Mostly one channel: the channels' windows then start apart.
        st.sampled_from(
            [frozenset({"search"}), frozenset({"social"}), frozenset(), frozenset(CHANNELS)]
        ),
    ),
    max_size=3,
)
moves = st.lists(
    st.tuples(
        st.booleans(),  # on the other track
        st.sampled_from((*CHANNELS, "display")),  # display: in no plan
        st.integers(min_value=-35 * MINUTES_A_DAY, max_value=30 * MINUTES_A_DAY),
        st.decimals(min_value=-60, max_value=60, places=2),
        st.booleans(),  # an alignment
        st.booleans(),  # rolled back a little later
    ),
    min_size=2,
    max_size=14,
)


def counted_net(rows: list[tuple], channel: str, since: datetime, now: datetime) -> Decimal:
    return sum(
        (
            delta
            for moved, at, delta, aligns in rows
            if moved == channel and since <= at <= now and not aligns
        ),
        Decimal("0"),
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Search and social counted from different starts, with a move of each before social's.
@example(
    window_days=30,
    revises=[(60, frozenset({"social"}))],
    moves=[
        (False, "social", 30, Decimal("5.00"), False, False),
        (False, "search", 30, Decimal("10.00"), False, True),
        (False, "social", 90, Decimal("-7.50"), False, False),
        (False, "search", 120, Decimal("20.00"), True, False),
        (False, "display", 20, Decimal("3.00"), False, False),
    ],
    now_minutes=180,
)
@given(
    window_days=st.sampled_from([30, 7, 1]),
    revises=revises,
    moves=moves,
    now_minutes=st.integers(min_value=0, max_value=30 * MINUTES_A_DAY),
)
def test_one_track_reads_the_same_drift_as_many_tracks(
    live, applied, window_days, revises, moves, now_minutes
):
    TenantPolicy.objects.filter(tenant=live).update(drift_window_days=window_days)
    number = next(TRACK_NUMBERS)
    key, other_key = f"event_drift_{number}", f"event_other_{number}"
    plan = winter_plan()
    import_plan(live, key, plan, "event_draft", NOW)
    import_plan(live, other_key, event_plan(), "event_draft", NOW)
    changed_at = dict.fromkeys(CHANNELS, [NOW])  # v1 set every channel
    for step, (minutes, channels) in enumerate(sorted(revises, key=lambda r: r[0]), 2):
        at = NOW + timedelta(minutes=minutes)
        plan = revised(plan, channels, step)
        import_plan(live, key, plan, "revise", at)
        for channel in channels:
            changed_at[channel] = [*changed_at[channel], at]
    tracks = {
        track.key: track
        for track in Track.objects.select_related("tenant__policy", "current_version").filter(
            tenant=live, key__in=[key, other_key]
        )
    }
    template = applied.applied.order_by("id").first()
    rows: dict[str, list[tuple]] = {key: [], other_key: []}
    for other, channel, minutes, delta, aligns, rolled_back in moves:
        at = NOW + timedelta(minutes=minutes)
        moved = rows[other_key if other else key]
        moved.append((channel, at, delta, aligns))
        if rolled_back:
            moved.append((channel, at + timedelta(minutes=30), -delta, aligns))
    AppliedChange.objects.bulk_create(
        AppliedChange(
            tenant=live,
            track=tracks[track_key],
            change_set_id=template.change_set_id,
            item_id=template.item_id,
            manifest_entry_id=template.manifest_entry_id,
            channel=channel,
            field=DAILY_BUDGET,
            delta=delta,
            aligns=aligns,
            applied_at=at,
        )
        for track_key, moved in rows.items()
        for channel, at, delta, aligns in moved
    )
    now = NOW + timedelta(minutes=now_minutes)
    both = list(tracks.values())

    many = channel_drifts(tracks=both, now=now)
    many_unlocked = channel_drifts(tracks=both, now=now, live=False)
    for track in both:
        one = channel_drifts(tracks=[track], now=now)[track.pk]
        assert one[:2] == many[track.pk][:2]
        guardrails = channel_drift_rows(track=track, now=now)
        assert guardrails == many_unlocked[track.pk][1]
        _version, listed_rows, _moves = channel_drifts(tracks=[track], now=now, moves=True)[
            track.pk
        ]
        # The listing leaves out a channel with neither a plan nor a move that counts (one
        # whose every move is an alignment).
        listed = {row.channel for row in listed_rows}
        assert listed_rows == [row for row in one[1] if row.channel in listed]
        assert all(
            (row.planned, row.net, row.changes) == (None, 0, 0)
            for row in one[1]
            if row.channel not in listed
        )

    # An independent count for the revised track's planned channels: the moves since the later
    # of the approval of the last version (by `now`) that changed the channel and the window's
    # start, alignments left out.
    window_start = now - timedelta(days=window_days)
    for row in channel_drift_rows(track=tracks[key], now=now):
        if row.channel not in CHANNELS:
            continue
        since = max(max(at for at in changed_at[row.channel] if at <= now), window_start)
        assert row.since == since
        assert row.net == counted_net(rows[key], row.channel, since, now), row
