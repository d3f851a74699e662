"""Page-shaped reads the plan pages need beyond plans/selectors.py (never writing).

Everything here takes the tenant the view already resolved through tenants.access.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from audit.resources import ResourceName
from config.formatting import date_text
from plans.envelope import envelope_change_rows, proposed_caps
from plans.models import MasterPlan, PlanVersion, Track
from plans.selectors import PlanOverview, master_plan_for, outdated_versions_to_carry
from tenants.models import Role, Tenant


def tenant_versions(*, tenant: Tenant) -> list[PlanVersion]:
    """Every version of the tenant, newest first (the compare page's pickers)."""
    return list(
        PlanVersion.objects.filter(tenant=tenant).select_related("track").order_by("-number")
    )


def envelope_proposal(version: PlanVersion) -> dict | None:
    """The master envelope beside what the version proposes, for the version page: None when no
    envelope covers the version's dates. `tracks` are those the proposal form offers a cap for
    (capped ones, the tenant's tracks and this one), `initial` what it starts with (the proposal
    if there is one, else today's envelope)."""
    master: MasterPlan | None = master_plan_for(version.tenant, version.payload)
    if master is None:
        return None
    caps = proposed_caps(master, version.master_change)
    tracks = sorted(
        set(master.track_caps)
        | set(Track.objects.filter(tenant_id=version.tenant_id).values_list("key", flat=True))
        | {version.track.key}
    )
    initial = {
        "total_budget": (version.master_change or {}).get("total_budget", master.total_budget),
        **{f"cap_{key}": caps[key] for key in tracks if key in caps},
    }
    return {
        "master": master,
        "rows": envelope_change_rows(master, version.master_change)
        if version.master_change
        else [],
        "tracks": tracks,
        "capped": set(master.track_caps),
        "initial": initial,
    }


def number_gaps(versions: list[PlanVersion]) -> list[tuple[int, int]]:
    """The pairs of a track's consecutive versions whose numbers are not consecutive (the numbers
    between them went to other tracks), oldest first: [(3, 7)] for v1, v2, v3, v7."""
    numbers = sorted(v.number for v in versions)
    return [(a, b) for a, b in zip(numbers, numbers[1:], strict=False) if b - a > 1]


def envelope_use(plan: PlanOverview) -> dict | None:
    """The master envelope as a table: per track its cap, what its approved plan uses, headroom.

    Capped tracks without a plan yet are listed too, so a planner sees the room they have.
    """
    master = plan.master
    if master is None:
        return None
    planned = {row.track.key: row.budget for row in plan.tracks}
    lines = [
        {
            "track": key,
            "has_track": key in planned,
            "cap": master.cap_for(key),
            "planned": planned.get(key, Decimal("0")),
            **_use(planned.get(key, Decimal("0")), master.cap_for(key)),
        }
        for key in sorted(set(planned) | set(master.track_caps))
    ]
    total = _use(plan.envelope_used, master.total_budget)
    return {
        "period": f"{date_text(master.period_start)} – {date_text(master.period_end)}",
        "currency": master.currency,
        "lines": lines,
        "total_cap": master.total_budget,
        "total_planned": plan.envelope_used,
        "total_used_pct": plan.envelope_used_pct,
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


def outdated_versions_panel(user, memberships) -> tuple[str, dict] | None:
    """The dashboard panel (approvals.presentation.register_dashboard_panel): the person's
    outdated versions nobody carried forward yet — another version on the same parent was
    approved first."""
    tenant_ids = [m.tenant_id for m in memberships if m.role == Role.PLANNER]
    if not tenant_ids:
        return None
    versions = outdated_versions_to_carry(tenant_ids=tenant_ids, user_id=user.pk)
    if not versions:
        return None
    return ("plans/_outdated_panel.html", {"versions": versions})


def track_resource_names(tenant_slug: str, ids: list[str]) -> dict[str, ResourceName]:
    """How the audit log names tracks (audit/resources.py resolver): "Track always_on", linked
    to its versions — never "Track 1"."""
    pks = [int(i) for i in ids if i.isdigit() and len(i) < 10]
    tracks = Track.objects.filter(tenant__slug=tenant_slug, pk__in=pks).values_list("pk", "key")
    return {
        str(pk): ResourceName(
            words=f"Track {key}", url=reverse("plans:timeline", args=[tenant_slug, key])
        )
        for pk, key in tracks
    }
