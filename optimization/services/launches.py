"""First launches through a manifest sync (docs/rules.md "Every block is real"): a sync that
brings an entity live for the first time — new and `active`, or `active` without ever having
been live — does not make it live when the tenant's `first_launch_requires_human` is on. The
entity is recorded *waiting for launch* (its status stays what it was, `pending` for a new one),
the sync opens one A2 for the entities it brought live, and the entity goes live only when that
A2 is approved. A refused A2 leaves the entities as they were.

Kept apart from the sync itself (optimization/services/manifest.py calls `LaunchGate`), so the
sync's other rules stay in their own functions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.utils import timezone

from approvals.models import TicketStatus
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.formatting import money
from optimization.models import ExecutionManifestEntry, LaunchStatus, ManifestLaunch
from optimization.selectors import entry_is_live
from plans.models import Track
from tenants.models import TenantPolicy

LAUNCH_SUBJECT = SubjectKind.MANIFEST_LAUNCH
WITHHELD_STATUS = "pending"  # what a new entity waiting for its launch shows as its status


@dataclass
class LaunchGate:
    """What one manifest sync's first launches wait for. `hold` tells the sync which state to
    store for an entity; `open_ticket` opens the sync's one A2 once every entry is written."""

    tenant: object
    track: Track
    actor: Actor
    required: bool
    opened: ManifestLaunch | None = None
    # "platform:entity_id" → the A2 it waits for (of this sync or an earlier one)
    waiting: dict[str, str] = field(default_factory=dict)
    _waiting_launches: dict[int, ManifestLaunch] = field(default_factory=dict)

    @classmethod
    def for_sync(cls, *, tenant, track: Track, actor: Actor, launched_by: str) -> LaunchGate:
        """`launched_by` names who confirmed the launches outside the product (the seed, a test
        world imported already live, like plan_version_import_approved's `approved_by`); the
        agent API never passes it."""
        policy = TenantPolicy.objects.get(tenant=tenant)
        return cls(
            tenant=tenant,
            track=track,
            actor=actor,
            required=policy.first_launch_requires_human and not launched_by,
        )

    def hold(self, row: ExecutionManifestEntry, state: dict, *, new: bool) -> tuple[dict, bool]:
        """The state to store for `row` given the `state` the sync sent, and whether the sync
        launches it now (its first go-live, not held). Marks the row waiting for launch."""
        first_live = row.first_active_at is None and entry_is_live(state)
        if not first_live:
            # The agent no longer asks for it to go live: nothing waits for a launch any more.
            row.waiting_launch = None
            return state, False
        if not self.required:
            return state, True
        if row.waiting_launch_id is None:
            row.waiting_launch = self._launch_of_this_sync()
        launch = self._waiting_launch(row)
        self.waiting[row.audit_id] = launch.ticket or ""
        previous = str((row.state or {}).get("status", "")).lower()
        withheld = previous if not new and previous and previous != "active" else WITHHELD_STATUS
        return {**state, "status": withheld}, False

    def _launch_of_this_sync(self) -> ManifestLaunch:
        if self.opened is None:
            self.opened = ManifestLaunch.objects.create(
                tenant=self.tenant,
                track=self.track,
                launch_id=f"launch-{secrets.token_hex(6)}",
                requested_by=self.actor.label[:150],
            )
        return self.opened

    def _waiting_launch(self, row: ExecutionManifestEntry) -> ManifestLaunch:
        launch = self._waiting_launches.get(row.waiting_launch_id)
        if launch is None:
            launch = row.waiting_launch
            self._waiting_launches[launch.pk] = launch
        return launch

    def open_ticket(self, rows: list[ExecutionManifestEntry]) -> str | None:
        """Open the A2 of the entities this sync brought live (one per sync); the ticket the
        sync's answer names: this sync's, else the one its entities already wait for."""
        if self.opened is not None:
            launching = [row for row in rows if row.waiting_launch_id == self.opened.pk]
            self.opened.entities = [row.audit_id for row in launching]
            ticket = ticket_open_within(_launch_ticket_request(self.opened, launching, self.actor))
            self.opened.ticket = ticket.public_id
            self.opened.save(update_fields=["entities", "ticket"])
            for row in launching:
                self.waiting[row.audit_id] = ticket.public_id
            return ticket.public_id
        return next(iter(self.waiting.values()), None)


def _launch_ticket_request(
    launch: ManifestLaunch, rows: list[ExecutionManifestEntry], actor: Actor
) -> TicketRequest:
    track = launch.track
    sentences = []
    for row in rows:
        budget = row.state.get("daily_budget")
        per_day = f", {money(budget, track.currency)} a day" if budget is not None else ""
        sentences.append(
            f"{row.audit_id} ({row.channel}{per_day}) goes live for the first time on {track.key}."
        )
    names = ", ".join(launch.entities)
    return TicketRequest(
        tenant=launch.tenant,
        type=TicketType.A2,
        actor=actor,
        title=f"First launch: {names} on {track.key}"[:200],
        summary=" ".join(sentences)
        + " A manifest sync brought them live; they wait for a person to confirm the launch.",
        subject_type=LAUNCH_SUBJECT,
        subject_id=launch.launch_id,
        plan_version=max((row.plan_version for row in rows), default=None),
        platform=rows[0].platform if rows else "",
        requesting_agent=launch.requested_by,
        diff={
            "summary": sentences,
            "changes": [
                {
                    "field": f"{row.audit_id}.status",
                    "before": row.state.get("status"),
                    "after": "active",
                }
                for row in rows
            ],
            "raw": {"launch_id": launch.launch_id, "entities": launch.entities},
        },
    )


# --- The A2's decision ------------------------------------------------------------------------
def launch_of_ticket(ticket) -> ManifestLaunch | None:
    return (
        ManifestLaunch.objects.filter(tenant_id=ticket.tenant_id, launch_id=ticket.subject_id)
        .select_related("track", "tenant")
        .first()
    )


def launch_lock(launch: ManifestLaunch) -> list[ExecutionManifestEntry]:
    """Lock the launch, then the entities still waiting for it (by platform and entity id, the
    sync's lock order)."""
    ManifestLaunch.objects.select_for_update(of=("self",)).get(pk=launch.pk)
    return list(
        ExecutionManifestEntry.objects.select_for_update(of=("self",))
        .filter(waiting_launch=launch)
        .order_by("platform", "entity_id")
    )


def launch_decide_within(*, launch: ManifestLaunch, outcome: str, actor: Actor) -> None:
    """Runs inside the transaction that resolves the A2 (approvals/subjects.py): approved, the
    entities still waiting go live; otherwise they stay as they are and wait no more."""
    rows = launch_lock(launch)
    launch.refresh_from_db(fields=["status"])
    if not launch.is_waiting:
        return
    now = timezone.now()
    approved = outcome == TicketStatus.APPROVED
    for row in rows:
        if approved:
            row.state = {**row.state, "status": "active"}
            row.first_active_at = row.first_active_at or now
        row.waiting_launch = None
        row.save(update_fields=["state", "first_active_at", "waiting_launch", "updated_at"])
    launch.status = LaunchStatus.LAUNCHED if approved else LaunchStatus.REFUSED
    launch.decided_at = now
    launch.save(update_fields=["status", "decided_at"])
    audit_event_append(
        tenant=launch.tenant,
        actor=actor,
        action=AuditAction.MANIFEST_LAUNCHED if approved else AuditAction.MANIFEST_LAUNCH_REFUSED,
        resource=("manifest", launch.track.key),
        data={
            "launch": launch.launch_id,
            "ticket": launch.ticket,
            "entities": [row.audit_id for row in rows],
            "outcome": outcome,
        },
    )


class ManifestLaunchSubject:
    """The first launch a manifest sync asked for, as the A2 about it governs it."""

    kind = LAUNCH_SUBJECT

    def exists(self, tenant, subject_id: str) -> bool:
        return ManifestLaunch.objects.filter(tenant=tenant, launch_id=subject_id).exists()

    def lock(self, ticket) -> None:
        launch = launch_of_ticket(ticket)
        if launch is not None:
            launch_lock(launch)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # agents sync the manifest; no person wrote the launch

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        launch = launch_of_ticket(ticket)
        if launch is not None:
            launch_decide_within(launch=launch, outcome=outcome, actor=actor)


class ManifestEntrySubject:
    """A live entity, as a ticket about it names it ("platform:entity_id"). Tickets only inform
    about an entity (an A7 on it blocks creative launches there while open): nothing to lock or
    decide."""

    kind = SubjectKind.MANIFEST_ENTRY

    def exists(self, tenant, subject_id: str) -> bool:
        platform, _, entity_id = subject_id.partition(":")
        return ExecutionManifestEntry.objects.filter(
            tenant=tenant, platform=platform, entity_id=entity_id
        ).exists()

    def lock(self, ticket) -> None:
        return None

    def authors(self, ticket) -> dict[int, str]:
        return {}

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        return None
