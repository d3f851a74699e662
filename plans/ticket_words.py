"""How tickets about a plan version read outside the plans pages (approvals/presentation.py): the
client portal's words for them, and where the version stands after a decision. Registered in
plans/apps.py."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from approvals.models import TicketDecision
from approvals.presentation import ClientWords
from approvals.selectors import subject_blocking_tickets
from approvals.types import SubjectKind, Verdict
from config.formatting import date_text
from plans.models import SUBJECT_TYPE, PlanStatus, PlanVersion
from plans.summary import first_change_day, version_client_kind, version_client_title
from tenants.models import Role


def _version_of(ticket) -> PlanVersion | None:
    if not ticket.subject_id.isdigit():
        return None
    return (
        PlanVersion.objects.select_related("track", "tenant", "outdated_by")
        .filter(tenant_id=ticket.tenant_id, number=int(ticket.subject_id))
        .first()
    )


def ticket_client_words(ticket) -> ClientWords | None:
    """ "Always-on plan, December update": the track and the change as the client knows them,
    with the diff preview's client sentences (never the ticket's title, written for the team)
    and the new messaging beside the old ("Messaging is updated (see the new wording)")."""
    version = _version_of(ticket)
    if version is None:
        return None
    raw = ticket.diff.get("raw") if isinstance(ticket.diff, dict) else None
    raw = raw if isinstance(raw, dict) else {}
    totals = raw.get("totals") if isinstance(raw.get("totals"), dict) else {}
    messaging = raw.get("messaging") if isinstance(raw.get("messaging"), dict) else None
    changes = (
        ({"field": "Messaging", "before": messaging["before"], "after": messaging["after"]},)
        if messaging and messaging.get("before")
        else ()
    )
    return ClientWords(
        changes=changes,
        title=version_client_title(
            track_key=version.track.key,
            kind=version.kind,
            effective=first_change_day(raw) or version.payload.get("start"),
        ),
        kind=version_client_kind(kind=version.kind, total_change=totals.get("change")),
        **_replaced(version),
    )


def _replaced(version: PlanVersion) -> dict:
    """An outdated version's items in the client's words: replaced by the plan approved first
    ("the plan you approved" when a client of the tenant signed it off)."""
    if not version.is_outdated or version.outdated_by_id is None:
        return {}
    by = version.outdated_by
    signed_by_client = TicketDecision.objects.filter(
        ticket__tenant_id=version.tenant_id,
        ticket__subject_type=SUBJECT_TYPE,
        ticket__subject_id=str(by.number),
        role=Role.CLIENT,
        verdict=Verdict.APPROVE,
    ).exists()
    day = date_text(
        by.approved_at.astimezone(ZoneInfo(version.tenant.time_zone)).date(), year=False
    )
    who = "you approved" if signed_by_client else "approved"
    return {"status": "Replaced", "note": f"Replaced by the plan {who} on {day}."}


def ticket_outcome(ticket) -> str:
    """Where the version stands now, for the message after a decision on one of its tickets."""
    version = _version_of(ticket)
    if version is None:
        return ""
    label = f"v{version.number}"
    if version.status == PlanStatus.APPROVED and version.track.current_version_id == version.pk:
        return f"{label} is now the current version of {version.track.key}"
    if version.status == PlanStatus.REJECTED:
        return f"{label} is rejected"
    if version.status == PlanStatus.DRAFT:
        return f"{label} is back in draft"
    if version.status == PlanStatus.PENDING_APPROVAL and not ticket.is_open:
        others = subject_blocking_tickets(
            tenant=ticket.tenant_id, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        ).values_list("public_id", flat=True)
        if others:
            return f"{label} still waits for {', '.join(others)}"
    return ""


class PlanVersionPresentation:
    kind = SUBJECT_TYPE

    def panel(self, ticket, user, role: str) -> None:
        return None  # the diff preview is the version's own panel

    def label(self, ticket) -> str:
        return ""  # "v12", from the ticket's plan_version

    def outcome(self, ticket) -> str:
        return ticket_outcome(ticket)

    def client_words(self, ticket) -> ClientWords | None:
        return ticket_client_words(ticket)


class TrackPresentation:
    """A ticket about a whole track: its buttons name the track; nothing else to show."""

    kind = SubjectKind.TRACK

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return None

    def label(self, ticket) -> str:
        return f"track {ticket.subject_id}"

    def outcome(self, ticket) -> str:
        return ""

    def client_words(self, ticket) -> ClientWords | None:
        return None
