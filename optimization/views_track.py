"""A track's execution pages: the live manifest with each entity's history and "Pause all spend",
the drift panel, and the seasonality calendar.

Thin views: internal roles read; operators and admins pause and resume spend; planners edit the
calendar. Another tenant's track or calendar entry is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.actors import Actor
from config.errors import DomainError, page_error
from config.formatting import date_text
from optimization import drift as drift_selector
from optimization import selectors
from optimization import views_queries as q
from optimization.forms import HoldForm, SeasonalChangeForm
from optimization.models import SeasonalChange
from optimization.services import (
    seasonal_change_remove,
    seasonal_change_set,
    track_hold_end,
    track_hold_start,
)
from optimization.views import OPERATORS, PLANNERS, can_operate
from plans.selectors import track_get
from tenants.access import require_role, tenant_view


# --- The live manifest ---------------------------------------------------------------------------
def _render_manifest(
    request, track, *, status: int = 200, hold_form=None, confirm_hold: bool = False
) -> HttpResponse:
    rows = q.manifest_rows(track=track)
    hold = q.track_hold(track=track)
    context = {
        "nav": "plans",
        "track": track,
        "rows": rows,
        "any_history": any(row.history for row in rows),
        "hold": hold,
        "last_hold": q.last_hold(track=track),
        "hold_form": hold_form or HoldForm(),
        "confirm_hold": confirm_hold,
        "hold_stops": selectors.hold_preview(entries=[row.entry for row in rows])
        if confirm_hold
        else None,
        "waiting": selectors.change_sets_waiting_for_hold(track=track) if hold else [],
        "can_operate": can_operate(request),
        "currency": track.currency,
    }
    return render(request, "optimization/manifest.html", context, status=status)


@tenant_view()
def manifest(request: HttpRequest, track: str) -> HttpResponse:
    return _render_manifest(request, track_get(tenant=request.tenant, key=track))


@tenant_view()
def themes(request: HttpRequest, track: str) -> HttpResponse:
    """A track's creative themes: each with its headlines, claims, review status and A7."""
    track_row = track_get(tenant=request.tenant, key=track)
    context = {"track": track_row, "themes": q.themes_of_track(track_row), "nav": "plans"}
    return render(request, "optimization/themes.html", context)


@require_POST
@tenant_view(roles=OPERATORS)
def hold_start(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _render_manifest(request, track_row, status=422, hold_form=form)
    if not form.cleaned_data["confirm"]:
        return _render_manifest(request, track_row, hold_form=form, confirm_hold=True)
    try:
        hold = track_hold_start(
            track=track_row, actor=Actor.for_user(request.user), reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        if exc.status == 422:
            form.add_error("reason", exc.message)
            return _render_manifest(request, track_row, status=422, hold_form=form)
        page_error(request, exc)
    else:
        paused = hold.pause.items.count()
        messages.success(
            request,
            f"All spend on {track_row.key} paused: {paused} "
            f"entit{'y' if paused == 1 else 'ies'} paused by {hold.pause.change_set_id}.",
        )
    return redirect("optimization:manifest", request.tenant.slug, track_row.key)


@require_POST
@tenant_view(roles=OPERATORS)
def hold_end(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    waiting = selectors.change_sets_waiting_for_hold(track=track_row)
    try:
        hold = track_hold_end(track=track_row, actor=Actor.for_user(request.user))
    except DomainError as exc:
        page_error(request, exc)
    else:
        resumed = (
            f"resumed by {hold.resume.change_set_id}"
            if hold.resume
            else "nothing was still paused to resume"
        )
        messages.success(
            request,
            f"Spend on {track_row.key} resumed: {resumed}."
            + "".join(f" {line}" for line in _waited_outcomes(waiting)),
        )
    return redirect("optimization:manifest", request.tenant.slug, track_row.key)


def _waited_outcomes(waiting) -> list[str]:
    """What became of each change set that waited for the hold, in a sentence each."""
    lines = []
    for change_set in waiting:
        change_set.refresh_from_db()
        lines.append(
            f"{change_set.change_set_id}: {change_set.get_status_display().lower()}"
            + ("." if change_set.is_applied else f" — {change_set.status_reason}")
        )
    return lines


# --- Drift ---------------------------------------------------------------------------------------
@tenant_view()
def drift(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    return render(
        request,
        "optimization/drift.html",
        {
            "nav": "plans",
            "track": track_row,
            "drift": drift_selector.track_drift(track=track_row, now=timezone.now()),
        },
    )


# --- The seasonality calendar --------------------------------------------------------------------
def _render_calendar(request, track, *, form=None, status: int = 200) -> HttpResponse:
    can_plan = request.membership.role in PLANNERS
    channels = q.plan_channels(track)
    context = {
        "nav": "plans",
        "track": track,
        "rows": q.seasonal_rows(track=track),
        "can_plan": can_plan,
        "form": form or SeasonalChangeForm(channels=channels),
        "has_plan": bool(channels),
        "currency": track.currency,
        "lead_days": request.tenant.policy.seasonality_lead_days,
    }
    return render(request, "optimization/seasonality.html", context, status=status)


@tenant_view()
def seasonality(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    if request.method != "POST":
        return _render_calendar(request, track_row)
    require_role(request.membership, PLANNERS)
    form = SeasonalChangeForm(request.POST, channels=q.plan_channels(track_row))
    if not form.is_valid():
        return _render_calendar(request, track_row, form=form, status=422)
    data = form.cleaned_data
    try:
        change = seasonal_change_set(
            track=track_row,
            channel=data["channel"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            budget=data["budget"],
            note=data["note"],
            actor=Actor.for_user(request.user),
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _render_calendar(request, track_row, form=form, status=exc.status)
    messages.success(
        request,
        f"Added to the calendar of {track_row.key}: {change.channel} from "
        f"{date_text(change.starts_on)}.",
    )
    return redirect("optimization:seasonality", request.tenant.slug, track_row.key)


@require_POST
@tenant_view(roles=PLANNERS)
def seasonality_remove(request: HttpRequest, track: str, pk: int) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    change = SeasonalChange.objects.filter(tenant=request.tenant, track=track_row, pk=pk).first()
    if change is None:
        raise Http404("No such calendar entry")
    seasonal_change_remove(change=change, actor=Actor.for_user(request.user))
    messages.success(
        request,
        f"Removed from the calendar of {track_row.key}: {change.channel} from "
        f"{date_text(change.starts_on)}.",
    )
    return redirect("optimization:seasonality", request.tenant.slug, track_row.key)


# --- Onboarding (A4) -----------------------------------------------------------------------------
@tenant_view()
def onboarding(request: HttpRequest) -> HttpResponse:
    """The tenant's platform accounts, requested → granted → ready, and when each track's
    onboarding completed (every account its entities run on ready)."""
    return render(
        request,
        "optimization/onboarding.html",
        {"nav": "plans", **selectors.tenant_onboarding(tenant=request.tenant)},
    )
