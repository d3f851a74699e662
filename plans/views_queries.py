"""Read queries the plan pages need beyond plans/selectors.py (page-shaped, never writing).

Everything here is scoped to one tenant; a number or track of another tenant is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.http import Http404
from django.urls import reverse

from approvals.models import Ticket
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry
from plans.models import MasterPlan, PlanStatus, PlanVersion, Track
from plans.schema import parse_payload
from tenants.models import Tenant

OPEN_STATUSES = (PlanStatus.DRAFT, PlanStatus.PENDING_APPROVAL)


@dataclass(frozen=True)
class TrackRow:
    track: Track
    current: PlanVersion | None
    pending: list[PlanVersion]
    planned: Decimal
    currency: str


@dataclass(frozen=True)
class TicketLink:
    public_id: str
    type_label: str
    status: str
    status_label: str
    created_at: object
    url: str


def payload_total(payload: dict) -> Decimal:
    return sum((Decimal(str(c["budget"])) for c in payload.get("channels", [])), Decimal("0"))


def track_or_404(*, tenant: Tenant, key: str) -> Track:
    track = Track.objects.filter(tenant=tenant, key=key).select_related("current_version").first()
    if track is None:
        raise Http404("No such track")
    return track


def version_or_404(*, tenant: Tenant, number: int) -> PlanVersion:
    version = (
        PlanVersion.objects.filter(tenant=tenant, number=number)
        .select_related("track", "track__current_version", "parent")
        .first()
    )
    if version is None:
        raise Http404("No such plan version")
    return version


def plan_overview_rows(*, tenant: Tenant) -> list[TrackRow]:
    """Each track with its current version and its open drafts, in two queries."""
    tracks = list(
        Track.objects.filter(tenant=tenant).select_related("current_version").order_by("key")
    )
    pending: dict[int, list[PlanVersion]] = {}
    for version in PlanVersion.objects.filter(tenant=tenant, status__in=OPEN_STATUSES).order_by(
        "number"
    ):
        pending.setdefault(version.track_id, []).append(version)
    rows = []
    for track in tracks:
        current = track.current_version
        rows.append(
            TrackRow(
                track=track,
                current=current,
                pending=pending.get(track.pk, []),
                planned=payload_total(current.payload) if current else Decimal("0"),
                currency=current.payload.get("currency", "") if current else "",
            )
        )
    return rows


def master_envelope_use(*, tenant: Tenant, rows: list[TrackRow], today: date) -> dict | None:
    """The master envelope of the period covering today (else the latest) vs approved plans."""
    masters = MasterPlan.objects.filter(tenant=tenant)
    master = (
        masters.filter(period_start__lte=today, period_end__gte=today).first()
        or masters.order_by("-period_start").first()
    )
    if master is None:
        return None
    lines = []
    keys = sorted({row.track.key for row in rows} | set(master.track_caps))
    planned_by_key = {row.track.key: row.planned for row in rows}
    for key in keys:
        cap = master.cap_for(key)
        planned = planned_by_key.get(key, Decimal("0"))
        lines.append({"track": key, "cap": cap, "planned": planned, **_use(planned, cap)})
    total_planned = sum(planned_by_key.values(), Decimal("0"))
    total = _use(total_planned, master.total_budget)
    return {
        "period": f"{master.period_start:%d %b %Y} – {master.period_end:%d %b %Y}",
        "currency": master.currency,
        "lines": lines,
        "total_cap": master.total_budget,
        "total_planned": total_planned,
        "total_used_pct": total["used_pct"],
        "total_over": total["over"],
        "total_headroom": total["headroom"],
    }


def _use(planned: Decimal, cap: Decimal | None) -> dict:
    if cap is None:
        return {"used_pct": None, "meter": 0, "over": False, "headroom": None}
    used = (planned / cap * 100).quantize(Decimal("0.1")) if cap else Decimal("0")
    return {
        "used_pct": used,
        "meter": min(used, Decimal("100")),
        "over": planned > cap,
        "headroom": cap - planned,
    }


def track_versions(*, track: Track) -> list[PlanVersion]:
    return list(track.versions.select_related("parent").order_by("-number"))


def tenant_versions(*, tenant: Tenant) -> list[PlanVersion]:
    return list(
        PlanVersion.objects.filter(tenant=tenant).select_related("track").order_by("-number")
    )


def version_tickets(*, tenant: Tenant, number: int) -> list[TicketLink]:
    """The approval tickets about version `number`, each with the link to its page."""
    tickets = Ticket.objects.filter(tenant=tenant).filter(
        Q(plan_version=number) | Q(subject_type="plan_version", subject_id=str(number))
    )
    return [
        TicketLink(
            public_id=t.public_id,
            type_label=t.ticket_type.label,
            status=t.status,
            status_label=t.get_status_display(),
            created_at=t.created_at,
            url=reverse("ticket", args=[t.public_id]),
        )
        for t in tickets.order_by("created_at", "id")
    ]


def track_manifest_entries(*, track: Track) -> list[dict]:
    return [e.as_dict() for e in ExecutionManifestEntry.objects.filter(track=track)]


def valid_payload(payload: dict | None) -> bool:
    """Stored payloads are canonical; this guards the pages against a legacy row all the same."""
    if payload is None:
        return False
    try:
        parse_payload(payload)
    except ValueError:
        return False
    return True


def version_audit_events(*, tenant: Tenant, number: int, limit: int = 100) -> list:
    """Every audit event about version `number`: its own transitions and its tickets' decisions."""
    events = AuditEvent.objects.filter(tenant=tenant).filter(
        Q(plan_version=number) | Q(resource_type="plan_version", resource_id=str(number))
    )
    return list(events.order_by("seq")[:limit])


def track_or_none(*, tenant: Tenant, key: str) -> Track | None:
    return Track.objects.filter(tenant=tenant, key=key).select_related("current_version").first()
