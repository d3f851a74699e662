"""Issue 16's stateful property test: random sequences of agent change sets (inside and beyond the
guardrails), approvals, approvals for a smaller move, rejections, holds and resumes, and
rollbacks, on PostgreSQL; after every step the invariants hold:

- every entity's live daily budget and status equal its launch values plus its applied changes;
- nothing applies to a track while it is on hold (the hold's own pause and resume aside);
- every applied change set had, when it applied, the approvals its guardrail verdict asked for;
- every amount a client is shown equals the amount that will (or did) apply.

CI runs a few examples (HT_PROPERTY_EXAMPLES, default 15) so the suite stays fast; a full run is
`HT_PROPERTY_EXAMPLES=300 pytest tests/optimization/test_what_was_approved_states.py` (README)."""

from __future__ import annotations

import contextlib
import copy
import inspect
import itertools
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from approvals.models import Ticket, TicketStatus
from approvals.presentation import subject_client_words
from approvals.services import ticket_decide
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from config.errors import DomainError
from config.formatting import money
from optimization import guardrails
from optimization.alignment import track_alignment
from optimization.models import (
    AppliedChange,
    ChangeSet,
    ChangeSetKind,
    ChangeSetStatus,
    ExecutionManifestEntry,
    TrackHold,
)
from optimization.selectors import change_set_client_figures
from optimization.services import (
    ChangeSetRequest,
    change_set_approve_with_edit,
    change_set_rollback,
    change_set_submit,
    manifest_sync,
    track_hold_end,
    track_hold_start,
)
from plans.models import OPEN_STATUSES, PlanStatus, PlanVersion, Track
from plans.services import (
    plan_version_carry_forward,
    plan_version_create_draft,
    plan_version_import_approved,
    plan_version_submit,
)
from tenants.models import Role
from tenants.services import membership_set, tenant_create, user_ensure
from tests.conftest import TEST_ACTOR
from tests.optimization import what_was_approved_readers as readers
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("HT_PROPERTY_EXAMPLES", "15"))
STEPS = int(os.environ.get("HT_PROPERTY_STEPS", "20"))
# HT_PROPERTY_SHRINK=0 reports the first failing sequence as found (docs/properties.md).
PHASES = (
    tuple(Phase)
    if os.environ.get("HT_PROPERTY_SHRINK", "1") != "0"
    else tuple(p for p in Phase if p != Phase.shrink)
)
LAUNCH = {"search-brand": "300.00", "search-generic": "200.00", "social-prospecting": "333.33"}
CHANNEL = {"search-brand": "search", "search-generic": "search", "social-prospecting": "social"}
AGENT = Actor.service("optimizer")
HOLD_KINDS = (ChangeSetKind.HOLD, ChangeSetKind.RESUME)


def _more(channel: str, amount: int):
    def change(plan: dict) -> None:
        (planned,) = (c for c in plan["channels"] if c["channel"] == channel)
        for figures in (planned, planned["flights"][0]):  # November's flight: today's plan
            budget = figures["budget"]
            total = Decimal(str(budget)) + amount
            figures["budget"] = (
                type(budget)(total) if isinstance(budget, int | float) else str(total)
            )

    return change


def _words(plan: dict) -> None:
    plan["messaging"] = f"{plan.get('messaging', '')} Warmly wrapped.".strip()


# What a planner's draft changes against the current version: one channel's plan, or only words.
VERSION_CHANGES = {
    "search": _more("search", 3000),
    "social": _more("social", 3000),
    "words": _words,
}
_worlds = itertools.count()


class WhatRunsIsWhatWasApproved(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        n = next(_worlds)
        if os.environ.get("HT_PROPERTY_TRACE"):
            print("TRACE world", n)
        self.tenant = tenant_create(
            slug=f"prop{n}",
            actor=TEST_ACTOR,
            name=f"Prop {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
        )
        plan_version_import_approved(
            tenant=self.tenant,
            track_key="always_on",
            kind="initial",
            payload=winter_plan(),
            actor=TEST_ACTOR,
            approved_by="the previous agency",
        )
        manifest_sync(
            tenant=self.tenant,
            track_key="always_on",
            entries=[
                {
                    "platform": "google_ads" if CHANNEL[e] == "search" else "meta",
                    "entity_id": f"{e}-{n}",
                    "channel": CHANNEL[e],
                    "plan_version": 1,
                    "state": {"daily_budget": budget, "status": "active"},
                }
                for e, budget in LAUNCH.items()
            ],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        self.n = n
        self.track = Track.objects.get(tenant=self.tenant, key="always_on")
        self.people = {}
        for role in (Role.OPERATOR, Role.CLIENT):
            user = user_ensure(username=f"{role}{n}", password="x-long-enough-pass")
            membership_set(tenant=self.tenant, user=user, role=role, actor=TEST_ACTOR)
            self.people[role] = Actor.for_user(user)
        self.on_hold = False
        self.applied_outside_hold = self._applied_count()
        self.serial = itertools.count()
        # Competing versions: two planners draft, a third approves (never their own).
        for name in ("p1", "p2", "p3"):
            user = user_ensure(username=f"{name}-{n}", password="x-long-enough-pass")
            membership_set(tenant=self.tenant, user=user, role=Role.PLANNER, actor=TEST_ACTOR)
            self.people[name] = Actor.for_user(user)
        self.people[Role.PLANNER] = self.people["p3"]
        self.drafters: dict[int, Actor] = {}
        # The model of drift: per channel, the approval of the last version that changed it.
        v1 = self.track.current_version
        self.reset_at = dict.fromkeys(readers.plan_channels(v1.payload), v1.approved_at)
        self.browser = {role: Client() for role in (Role.PLANNER, Role.CLIENT)}
        self.browser[Role.PLANNER].force_login(self.people["p3"].user)
        self.browser[Role.CLIENT].force_login(self.people[Role.CLIENT].user)
        self.client_seen: dict[int, tuple] = {}
        self.titles_seen: tuple | None = None
        self.drift_seen: tuple | None = None
        self.seen_change_sets = set(
            ChangeSet.objects.filter(track=self.track).values_list("pk", flat=True)
        )
        self.net_before = readers.model_net(self.track, self.reset_at, timezone.now())

    # --- helpers -------------------------------------------------------------------------------
    def _entity(self, name: str) -> str:
        return f"{name}-{self.n}"

    def _applied_count(self) -> int:
        return (
            AppliedChange.objects.filter(track=self.track)
            .exclude(change_set__kind__in=HOLD_KINDS)
            .count()
        )

    def _change_sets(self, status: str) -> list[ChangeSet]:
        return list(
            ChangeSet.objects.filter(track=self.track, status=status)
            .exclude(kind__in=HOLD_KINDS)
            .order_by("id")
        )

    def _versions(self, *statuses: str) -> list[PlanVersion]:
        return list(
            PlanVersion.objects.filter(track=self.track, status__in=statuses).order_by("number")
        )

    def _waiting_for_the_client(self) -> list[ChangeSet]:
        waiting = set(
            Ticket.objects.filter(
                tenant=self.tenant,
                subject_type="change_set",
                client_visible=True,
                status=TicketStatus.OPEN,
            ).values_list("subject_id", flat=True)
        )
        return [
            c
            for c in self._change_sets(ChangeSetStatus.PENDING_APPROVAL)
            if c.change_set_id in waiting
        ]

    def _person(self, role: str) -> Actor:
        if role not in self.people:
            user = user_ensure(username=f"{role}-{self.n}", password="x-long-enough-pass")
            membership_set(tenant=self.tenant, user=user, role=role, actor=TEST_ACTOR)
            self.people[role] = Actor.for_user(user)
        return self.people[role]

    def _hold_change_set_ids(self) -> set[str]:
        return {
            str(pk)
            for pk in ChangeSet.objects.filter(track=self.track, kind__in=HOLD_KINDS).values_list(
                "pk", flat=True
            )
        } | set(
            ChangeSet.objects.filter(track=self.track, kind__in=HOLD_KINDS).values_list(
                "change_set_id", flat=True
            )
        )

    def _change_set_key(self, resource_id: str) -> str:
        """The change_set_id of an audit row's resource (its pk or its change_set_id)."""
        found = ChangeSet.objects.filter(tenant=self.tenant, change_set_id=resource_id).first()
        if found is None and resource_id.isdigit():
            found = ChangeSet.objects.filter(tenant=self.tenant, pk=int(resource_id)).first()
        return found.change_set_id if found else resource_id

    def _pick(self, rows: list, index: int):
        return rows[index % len(rows)] if rows else None

    def _step_done(self, resumed: bool = False) -> None:
        """Nothing applied during the step while the track was on hold (a resume ends it); the
        step's new change sets were judged on the model's drift."""
        if os.environ.get("HT_PROPERTY_TRACE"):
            print("TRACE step", inspect.stack()[1].function)
        count = self._applied_count()
        if self.on_hold and not resumed:
            assert count == self.applied_outside_hold, "a change applied during the hold"
        self.applied_outside_hold = count
        self._judged_on_the_models_drift()
        self.net_before = readers.model_net(self.track, self.reset_at, timezone.now())

    def _judged_on_the_models_drift(self) -> None:
        """Each change set of the step read the drift the model counts before it, and one that
        applied without a ticket (a rollback, a rollback of a rollback alike) stayed within the
        drift bound or moved its channel back towards the plan, on that drift."""
        new = list(
            ChangeSet.objects.filter(track=self.track)
            .exclude(pk__in=self.seen_change_sets)
            .exclude(kind__in=HOLD_KINDS)
            .order_by("id")
        )
        self.seen_change_sets |= {c.pk for c in new}
        net = dict(self.net_before)
        drift_pct = self.tenant.policy.drift_pct
        for change_set in new:
            checks = {c["channel"]: c for c in (change_set.guardrails or {}).get("channels", [])}
            if not self.on_hold:
                for channel, check in checks.items():
                    if channel in net and check.get("drift_before") is not None:
                        assert Decimal(str(check["drift_before"])) == net[channel], (
                            f"{change_set.change_set_id} read {channel} drift "
                            f"{check['drift_before']}, the model {net[channel]}"
                        )
            if change_set.status != ChangeSetStatus.APPLIED:
                continue
            deltas = readers.applied_deltas(change_set)
            if not change_set.ticket:
                for channel, delta in deltas.items():
                    check = checks.get(channel) or {}
                    planned = check.get("planned_daily_budget")
                    if channel not in net or planned in (None, ""):
                        continue
                    verdict = guardrails.check_channel(
                        channel=channel,
                        delta=delta,
                        live_daily_budget=Decimal(str(check["live_daily_budget"])),
                        planned_daily_budget=Decimal(str(planned)),
                        drift_before=net[channel],
                        optimization_pct=Decimal("100"),
                        drift_pct=drift_pct,
                    )
                    assert verdict.drift_ok, (
                        f"{change_set.change_set_id} ({change_set.kind}) applied without a ticket "
                        f"and takes {channel} from {net[channel]} to {net[channel] + delta} "
                        f"against {planned} planned"
                    )
            for channel, delta in deltas.items():
                if channel in net:
                    net[channel] += delta

    # --- rules ---------------------------------------------------------------------------------
    @rule(
        entity=st.sampled_from(sorted(LAUNCH)),
        pct=st.one_of(st.sampled_from([-25, -12, 12, 20, 30]), st.integers(-25, 30)),
    )
    def propose(self, entity, pct):
        entry = ExecutionManifestEntry.objects.get(entity_id=self._entity(entity))
        before = Decimal(entry.state["daily_budget"])
        after = (before * (100 + pct) / 100).quantize(Decimal("0.01"))
        try:
            change_set_submit(
                tenant=self.tenant,
                request=ChangeSetRequest(
                    change_set_id=f"cs-{self.n}-{next(self.serial)}",
                    track="always_on",
                    items=[
                        {
                            "entity_id": entry.entity_id,
                            "field": "daily_budget",
                            "before": str(before),
                            "after": str(after),
                        }
                    ],
                    agent="optimizer",
                    reason="property",
                ),
                actor=AGENT,
            )
        except DomainError as refused:
            assert self.on_hold and refused.code == "track_on_hold" or refused.status == 409
        self._step_done()

    @precondition(lambda self: self._change_sets(ChangeSetStatus.PENDING_APPROVAL))
    @rule(index=st.integers(0, 20), role=st.sampled_from([Role.OPERATOR, Role.CLIENT, "everyone"]))
    def approve(self, index, role, only=None):
        """One role approves, or everyone the ticket waits for, one after the other."""
        change_set = only or self._pick(self._change_sets(ChangeSetStatus.PENDING_APPROVAL), index)
        if change_set is not None:
            ticket = Ticket.objects.get(tenant=self.tenant, public_id=change_set.ticket)
            roles = [slot.split("/")[0] for slot in ticket.required_roles]
            for one in roles if role == "everyone" else [role]:
                with contextlib.suppress(DomainError):
                    ticket_decide(
                        ticket=ticket, actor=self.people[one], verdict="approve", role=one
                    )
        self._step_done()

    @precondition(lambda self: self._change_sets(ChangeSetStatus.PENDING_APPROVAL))
    @rule(index=st.integers(0, 20), share=st.sampled_from(["0.25", "0.5", "0.9"]))
    def approve_smaller(self, index, share, only=None):
        change_set = only or self._pick(self._change_sets(ChangeSetStatus.PENDING_APPROVAL), index)
        if change_set is not None:
            item = change_set.items.get()
            before, asked = Decimal(str(item.before)), Decimal(str(item.after))
            smaller = (before + (asked - before) * Decimal(share)).quantize(Decimal("0.01"))
            with contextlib.suppress(DomainError):
                change_set_approve_with_edit(
                    change_set=change_set,
                    actor=self.people[Role.OPERATOR],
                    approved={item.position: str(smaller)},
                )
        self._step_done()

    @precondition(lambda self: self._change_sets(ChangeSetStatus.PENDING_APPROVAL))
    @rule(index=st.integers(0, 20))
    def reject(self, index):
        change_set = self._pick(self._change_sets(ChangeSetStatus.PENDING_APPROVAL), index)
        if change_set is not None:
            ticket = Ticket.objects.get(tenant=self.tenant, public_id=change_set.ticket)
            with contextlib.suppress(DomainError):
                ticket_decide(
                    ticket=ticket,
                    actor=self.people[Role.OPERATOR],
                    verdict="reject",
                    comment="not now",
                    role=Role.OPERATOR,
                )
        self._step_done()

    @precondition(lambda self: not self.on_hold)
    @rule()
    def hold(self):
        try:
            track_hold_start(track=self.track, actor=self.people[Role.OPERATOR], reason="stop")
            self._step_done()
            self.on_hold = True
        except DomainError:
            self._step_done()

    @precondition(lambda self: self._waiting_for_the_client())
    @rule(index=st.integers(0, 20), share=st.sampled_from(["0.25", "0.5", "0.9"]))
    def smaller_then_the_client_approves(self, index, share):
        """The operator approves a smaller move on an A3 the client also has to approve; the
        client approves what the portal shows."""
        change_set = self._pick(self._waiting_for_the_client(), index)
        self.approve_smaller(index=0, share=share, only=change_set)
        self.approve(index=0, role=Role.CLIENT, only=change_set)

    @precondition(
        lambda self: not self.on_hold and self._change_sets(ChangeSetStatus.PENDING_APPROVAL)
    )
    @rule(index=st.integers(0, 20))
    def pause_while_the_client_approves(self, index):
        """An operator pauses all spend while everyone an A3 waits for approves it."""
        self.hold()
        self.approve(index, "everyone")

    @precondition(lambda self: self.on_hold)
    @rule()
    def resume(self):
        try:
            track_hold_end(track=self.track, actor=self.people[Role.OPERATOR])
        except DomainError:
            self._step_done()
            return
        self._step_done(resumed=True)
        self.on_hold = False
        assert not self._change_sets(ChangeSetStatus.APPROVED_WAITING)

    @precondition(lambda self: self._change_sets(ChangeSetStatus.APPLIED))
    @rule(index=st.integers(0, 20))
    def roll_back(self, index):
        change_set = self._pick(self._change_sets(ChangeSetStatus.APPLIED), index)
        if change_set is not None:
            with contextlib.suppress(DomainError):
                change_set_rollback(change_set=change_set, actor=self.people[Role.OPERATOR])
        self._step_done()

    # --- competing versions of the track's plan ------------------------------------------------
    @rule(
        planner=st.sampled_from(["p1", "p2"]),
        change=st.sampled_from(sorted(VERSION_CHANGES)),
        submit=st.booleans(),
    )
    def draft_version(self, planner, change, submit):
        """A planner drafts a revise on the track's current version (and may submit it)."""
        current = Track.objects.get(pk=self.track.pk).current_version
        try:
            version = plan_version_create_draft(
                tenant=self.tenant,
                track_key="always_on",
                kind="revise",
                payload=changed(current.payload, VERSION_CHANGES[change]),
                actor=self.people[planner],
                reason=f"property: {change}",
            )
            self.drafters[version.pk] = self.people[planner]
            assert version.parent_id == current.pk
            if submit:
                plan_version_submit(version=version, actor=self.people[planner])
        except DomainError as refused:
            event(f"draft refused: {refused.code}")
            if os.environ.get("HT_PROPERTY_TRACE"):
                print("TRACE draft refused", refused.code, refused)
        self._step_done()

    @precondition(lambda self: self._versions(PlanStatus.DRAFT, PlanStatus.OUTDATED))
    @rule(index=st.integers(0, 20))
    def submit_version(self, index):
        """Submitting a draft works only while it follows the current version."""
        version = self._pick(self._versions(PlanStatus.DRAFT, PlanStatus.OUTDATED), index)
        if version is not None:
            current = Track.objects.get(pk=self.track.pk).current_version_id
            try:
                plan_version_submit(version=version, actor=self.drafters[version.pk])
            except DomainError:
                pass
            else:
                assert version.parent_id == current, f"v{version.number} submitted outdated"
        self._step_done()

    @precondition(lambda self: self._versions(PlanStatus.PENDING_APPROVAL))
    @rule(index=st.integers(0, 20), client_first=st.booleans())
    def approve_version(self, index, client_first):
        """Everyone a pending version waits for approves it; it becomes current only if it still
        follows the current version."""
        version = self._pick(self._versions(PlanStatus.PENDING_APPROVAL), index)
        if version is not None:
            follows = version.parent_id == Track.objects.get(pk=self.track.pk).current_version_id
            tickets = (
                Ticket.objects.filter(
                    tenant=self.tenant, subject_id=str(version.number), status=TicketStatus.OPEN
                )
                .exclude(subject_type="change_set")
                .order_by("type")
            )
            for ticket in tickets:
                roles = [slot.split("/")[0] for slot in ticket.required_roles]
                for role in sorted(roles, key=lambda r: (r != Role.CLIENT) == client_first):
                    with contextlib.suppress(DomainError):
                        ticket_decide(
                            ticket=ticket, actor=self._person(role), verdict="approve", role=role
                        )
            version.refresh_from_db()
            event(f"version {version.status}")
            if os.environ.get("HT_PROPERTY_TRACE"):
                print("TRACE version", version.number, version.status)
            if version.status == PlanStatus.APPROVED:
                assert follows, f"v{version.number}, built on a superseded version, was approved"
                for channel in readers.channels_changed(version):
                    self.reset_at[channel] = version.approved_at
        self._step_done()

    @precondition(lambda self: self._versions(PlanStatus.OUTDATED))
    @rule(index=st.integers(0, 20))
    def carry_forward(self, index):
        """An outdated version is carried forward onto the current version, as a new draft."""
        version = self._pick(self._versions(PlanStatus.OUTDATED), index)
        if version is not None:
            carried = plan_version_carry_forward(version=version, actor=self.drafters[version.pk])
            self.drafters[carried.pk] = self.drafters[version.pk]
            event("carried forward")
            if os.environ.get("HT_PROPERTY_TRACE"):
                print("TRACE carried", version.number, "->", carried.number, carried.status)
            if carried.status in OPEN_STATUSES:
                current = Track.objects.get(pk=self.track.pk).current_version_id
                assert carried.parent_id == current
        self._step_done()

    # --- invariants of the seams (issue 16 Show) ------------------------------------------------
    @invariant()
    def nothing_applied_while_on_hold(self):
        """No change (the hold's own pause and resume aside) applied between a hold's start and
        its end, by the applied changes' timestamps and by the audit log's order."""
        holds = list(TrackHold.objects.filter(track=self.track))
        applied = AppliedChange.objects.filter(track=self.track).exclude(
            change_set__kind__in=HOLD_KINDS
        )
        for hold in holds:
            during = applied.filter(applied_at__gt=hold.started_at)
            if hold.ended_at is not None:
                during = during.filter(applied_at__lt=hold.ended_at)
            assert not during.exists(), f"applied during the hold of {hold.started_at}"
        events = list(
            AuditEvent.objects.filter(
                tenant_id=self.tenant.pk,
                action__in=[
                    AuditAction.TRACK_HOLD_STARTED,
                    AuditAction.TRACK_HOLD_ENDED,
                    AuditAction.CHANGE_SET_APPLIED,
                ],
            ).order_by("seq")
        )
        holding, exempt = False, self._hold_change_set_ids()
        for row in events:
            if row.action == AuditAction.TRACK_HOLD_STARTED:
                holding = True
            elif row.action == AuditAction.TRACK_HOLD_ENDED:
                holding = False
            elif holding and row.resource_id not in exempt:
                # What waited for the hold applies as it ends, before the end's own audit row.
                ended = next(
                    (e for e in events if e.seq > row.seq and e.action != row.action), None
                )
                waited = (ended.data or {}).get("waited", {}) if ended else {}
                assert ended is not None and ended.action == AuditAction.TRACK_HOLD_ENDED, (
                    f"audit event {row.seq} applied during the hold"
                )
                assert row.data.get("track") == self.track.key and (
                    self._change_set_key(row.resource_id) in waited
                ), f"audit event {row.seq} applied during the hold"

    @invariant()
    def at_most_one_pending_version_per_parent_is_approvable(self):
        """Every draft or pending version follows the track's current version: one built on a
        superseded version is outdated, with no open ticket left to approve it."""
        current = Track.objects.get(pk=self.track.pk).current_version_id
        for version in self._versions(*OPEN_STATUSES):
            assert version.parent_id == current, (
                f"v{version.number} is {version.status} on a superseded version"
            )
        for version in self._versions(PlanStatus.OUTDATED):
            assert (
                not Ticket.objects.filter(
                    tenant=self.tenant,
                    subject_id=str(version.number),
                    status=TicketStatus.OPEN,
                )
                .exclude(subject_type="change_set")
                .exists()
            )

    @invariant()
    def drift_is_the_same_from_every_reader(self):
        """The selector, the drift page, the weekly report, the guardrails' reading and the scan
        show the same drift, and it is the model's: moves since the approval that last changed
        the channel."""
        state = (
            AppliedChange.objects.filter(track=self.track).count(),
            Track.objects.get(pk=self.track.pk).current_version_id,
        )
        if state == self.drift_seen:
            return  # nothing moved and no version was approved since the last look
        self.drift_seen = state
        now = timezone.now()
        shown = readers.drift_everywhere(self.track, self.browser[Role.PLANNER], now)
        selector = shown["selector"]
        for reader in ("drift page", "weekly report", "guardrails"):
            assert shown[reader] == selector, (reader, shown[reader], selector)
        assert shown["scan"] == shown["beyond"], (shown["scan"], shown["beyond"])
        model = readers.model_net(self.track, self.reset_at, now)
        assert {c: net for c, (net, _pct) in selector.items()} == model, (selector, model)

    @invariant()
    def the_client_reads_what_applies_everywhere(self):
        """The portal item, "Waiting for you" or the history, and the client's weekly report name
        the amount that will (or did) apply, never a larger one asked before."""
        tickets = Ticket.objects.filter(
            tenant=self.tenant, subject_type="change_set", client_visible=True
        )
        titles = []
        for ticket in tickets:
            change_set = ChangeSet.objects.get(tenant=self.tenant, change_set_id=ticket.subject_id)
            state = (ticket.status, change_set.status, change_set.events.count())
            if self.client_seen.get(ticket.pk) == state:
                titles.append(subject_client_words(ticket).title)
                continue
            titles += readers.client_reads(ticket, self.browser[Role.CLIENT])
            self.client_seen[ticket.pk] = state
        waiting = Ticket.objects.filter(
            tenant=self.tenant, client_visible=True, status=TicketStatus.OPEN
        ).exclude(subject_type="change_set")
        state = (tuple(titles), tuple(sorted(self.client_seen.items())), waiting.count())
        if state == self.titles_seen:
            return  # the same items read the same as at the last look
        self.titles_seen = state
        titles += [subject_client_words(ticket).title for ticket in waiting]
        for title in readers.client_report_titles(self.track, timezone.now()):
            assert title in titles, f"the client's report names {title!r}"

    # --- invariants ----------------------------------------------------------------------------
    @invariant()
    def live_is_launch_plus_applied(self):
        for entry in ExecutionManifestEntry.objects.filter(track=self.track):
            name = entry.entity_id.rsplit("-", 1)[0]
            changes = list(AppliedChange.objects.filter(manifest_entry=entry).order_by("id"))
            budget = Decimal(LAUNCH[name]) + sum(
                (c.delta for c in changes if c.field == "daily_budget"), Decimal("0")
            )
            assert Decimal(str(entry.state["daily_budget"])) == budget
            statuses = [c.after for c in changes if c.field == "status"]
            assert entry.state.get("status", "active") == (statuses[-1] if statuses else "active")

    @invariant()
    def applied_change_sets_had_their_approvals(self):
        for change_set in self._change_sets(ChangeSetStatus.APPLIED):
            tickets = Ticket.objects.filter(
                tenant=self.tenant, subject_type="change_set", subject_id=change_set.change_set_id
            )
            needed_approval = change_set.events.filter(kind="pending_approval").exists()
            assert needed_approval == tickets.exists()
            for ticket in tickets:
                assert ticket.status == TicketStatus.APPROVED
                roles = set(
                    ticket.decisions.filter(verdict="approve").values_list("role", flat=True)
                )
                assert set(ticket.required_roles) <= roles

    @invariant()
    def the_client_sees_what_applies(self):
        tickets = Ticket.objects.filter(
            tenant=self.tenant, subject_type="change_set", client_visible=True
        )
        for ticket in tickets:
            change_set = ChangeSet.objects.get(tenant=self.tenant, change_set_id=ticket.subject_id)
            figures = change_set_client_figures(change_set)
            (move,) = figures.moves
            words = subject_client_words(ticket)
            assert words.title.endswith(money(move.before + move.applying, "EUR"))
            if change_set.is_applied:
                applied = sum(
                    (row.delta for row in change_set.applied.all() if row.delta is not None),
                    Decimal("0"),
                )
                assert applied == move.applying

    # --- Execution aligns (issue 16 item 5) ---------------------------------------------------
    @rule()
    def approve_a_version_and_align(self):
        """A revise of social's November flight (€10,000 ↔ €13,000, a revise either way) is
        approved; the agent aligns with it exactly (during a hold the alignment waits)."""
        payload = copy.deepcopy(self.track.current_version.payload)
        social = payload["channels"][1]
        flight = social["flights"][0]
        extra = -3000 if Decimal(str(flight["budget"])) > 10000 else 3000
        # Stored payloads hold money as strings.
        social["budget"] = str(Decimal(str(social["budget"])) + extra)
        flight["budget"] = str(Decimal(str(flight["budget"])) + extra)
        plan_version_import_approved(
            tenant=self.tenant,
            track_key="always_on",
            kind="revise",
            payload=payload,
            actor=TEST_ACTOR,
            approved_by="tests",
        )
        self.track = Track.objects.select_related("current_version").get(pk=self.track.pk)
        work = track_alignment(track=self.track)
        if work.entities:
            with contextlib.suppress(DomainError):
                change_set_submit(
                    tenant=self.tenant,
                    request=ChangeSetRequest(
                        change_set_id=f"align-{self.n}-{next(self.serial)}",
                        track="always_on",
                        kind=ChangeSetKind.ALIGNMENT,
                        items=[
                            {
                                "entity_id": t.entity_id,
                                "field": t.field,
                                "before": t.live,
                                "after": t.target,
                            }
                            for t in work.entities
                        ],
                    ),
                    actor=AGENT,
                )
        self._step_done()

    @invariant()
    def an_applied_alignment_moved_each_field_to_its_target_without_a_ticket(self):
        version = self.track.current_version.number
        for change_set in self._change_sets(ChangeSetStatus.APPLIED):
            if change_set.kind != ChangeSetKind.ALIGNMENT:
                continue
            assert not change_set.ticket
            for row in change_set.applied.all():
                assert row.after == row.item.after  # exactly the target, never an edit
                assert row.manifest_entry.plan_version <= version


@pytest.fixture
def in_november():
    with time_machine.travel(datetime(2026, 11, 10, 10, 0, tzinfo=UTC), tick=True):
        yield


def test_what_runs_is_what_was_approved(in_november):
    run_state_machine_as_test(
        WhatRunsIsWhatWasApproved,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
