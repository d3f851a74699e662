"""The plan pages: overview, track timeline, version, draft editor (with the live verdict), compare.

Thin views: parse, check the role, call one service, render. Internal roles read; only planners
create, edit, submit and withdraw drafts. Another tenant's track or version is a 404.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.actors import Actor
from plans import views_queries as q
from plans.diff import diff_is_empty, manifest_diff, plan_diff
from plans.forms import PlanPayloadForm
from plans.models import TRACK_KEY_PATTERN, PlanKind, PlanStatus, Track
from plans.services import (
    PlanError,
    approval_needs,
    plan_version_create_draft,
    plan_version_edit,
    plan_version_submit,
    plan_version_withdraw,
    track_classify,
)
from plans.summary import plan_revise_summary
from tenants.access import tenant_view
from tenants.models import Role

PLANNERS = (Role.PLANNER,)


def _can_plan(request: HttpRequest) -> bool:
    return request.membership.role == Role.PLANNER


def _tenant_today(request: HttpRequest) -> date:
    return datetime.now(ZoneInfo(request.tenant.time_zone)).date()


@tenant_view()
def overview(request: HttpRequest) -> HttpResponse:
    rows = q.plan_overview_rows(tenant=request.tenant)
    today = _tenant_today(request)
    envelope = q.master_envelope_use(tenant=request.tenant, rows=rows, today=today)
    return render(
        request,
        "plans/overview.html",
        {"nav": "plans", "tracks": rows, "envelope": envelope, "can_plan": _can_plan(request)},
    )


@tenant_view()
def timeline(request: HttpRequest, track: str) -> HttpResponse:
    track_row = q.track_or_404(tenant=request.tenant, key=track)
    versions = q.track_versions(track=track_row)
    current = track_row.current_version
    # Preselect the most telling pair: the current version against the one it superseded.
    compare_b = versions[0].number if versions else None
    compare_a = versions[1].number if len(versions) > 1 else None
    if current is not None and current.parent_id:
        compare_a, compare_b = current.parent.number, current.number
    return render(
        request,
        "plans/timeline.html",
        {
            "nav": "plans",
            "track": track_row,
            "versions": versions,
            "current": current,
            "compare_a": compare_a,
            "compare_b": compare_b,
            "can_plan": _can_plan(request),
        },
    )


@tenant_view()
def version_detail(request: HttpRequest, number: int) -> HttpResponse:
    version = q.version_or_404(tenant=request.tenant, number=number)
    parent = version.parent
    diff = plan_diff(parent.payload, version.payload) if parent else None
    summary = plan_revise_summary(parent.payload, version.payload, diff=diff) if parent else None
    entries = q.track_manifest_entries(track=version.track)
    live = (
        manifest_diff(
            previous=parent.payload if parent else None,
            proposed=version.payload,
            entries=entries,
            on=_tenant_today(request),
        )
        if entries
        else None
    )
    return render(
        request,
        "plans/version.html",
        {
            "nav": "plans",
            "version": version,
            "track": version.track,
            "parent": parent,
            "is_current": version.track.current_version_id == version.pk,
            "diff": diff,
            "diff_empty": diff is not None and diff_is_empty(diff),
            "summary": summary,
            "manifest_diff": live,
            "currency": version.payload.get("currency", ""),
            "needs": approval_needs(version=version, policy=request.tenant.policy)
            if version.status in (PlanStatus.DRAFT, PlanStatus.PENDING_APPROVAL)
            else None,
            "tickets": q.version_tickets(tenant=request.tenant, number=version.number),
            "audit_events": q.version_audit_events(tenant=request.tenant, number=version.number),
            "can_plan": _can_plan(request),
        },
    )


# --- Draft editor --------------------------------------------------------------------------------
def _verdict(*, request: HttpRequest, track_key: str, track: Track | None, form, kind: str):
    """The classifier's verdict on the form as it stands; None while the form has errors.

    Drafts are always compared with the track's current approved version (editing a draft
    rebases it there), exactly as the create and edit services check them.
    """
    if not form.is_valid():
        return None
    verdict = track_classify(
        track=track, track_key=track_key, payload=form.payload, policy=request.tenant.policy
    )
    accepts = not kind or verdict.accepts(kind)
    return {
        "path": verdict.path.value,
        "reason": verdict.reason,
        "accepts": accepts,
        "kind_conflict": "" if accepts else verdict.contradiction(kind),
    }


def _render_editor(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole page, or only the form when htmx swaps it after an add/remove row button."""
    template = "plans/editor.html#editor" if request.htmx else "plans/editor.html"
    return render(request, template, {"nav": "plans", **context}, status=status)


def _track_key_or_404(key: str) -> str:
    if not re.fullmatch(TRACK_KEY_PATTERN, key):
        raise Http404("No such track")
    return key


@tenant_view(roles=PLANNERS)
def draft_new(request: HttpRequest, track: str) -> HttpResponse:
    """A new draft vN+1 from the track's current version (or a new track's first plan)."""
    track_key = _track_key_or_404(track)
    track_row = q.track_or_none(tenant=request.tenant, key=track_key)
    base = track_row.current_version if track_row else None
    slug = request.tenant.slug
    context = {
        "track_name": track_key,
        "base": base,
        "version": None,
        "kind_choices": PlanKind.choices,
        "action_url": reverse("plans:draft_new", args=[slug, track_key]),
        "verdict_url": reverse("plans:verdict", args=[slug, track_key]),
        "cancel_url": reverse("plans:timeline", args=[slug, track_key])
        if track_row
        else reverse("plans:overview", args=[slug]),
        "save_label": f"Create draft for {track_key}",
    }
    if request.method != "POST":
        form = PlanPayloadForm(payload=base.payload if base else None)
        verdict = _verdict(
            request=request, track_key=track_key, track=track_row, form=form, kind=""
        )
        default_kind = verdict["path"] if verdict and verdict["path"] in PlanKind.values else ""
        context.update(form=form, kind=default_kind, reason="", verdict=verdict)
        return _render_editor(request, context)

    form = PlanPayloadForm(data=request.POST)
    kind = request.POST.get("kind", "")
    action = request.POST.get("action", "save")
    if form.is_row_action(action):
        form.apply_row_action(action)
    verdict = _verdict(request=request, track_key=track_key, track=track_row, form=form, kind=kind)
    context.update(form=form, kind=kind, reason=request.POST.get("reason", "").strip())
    context["verdict"] = verdict
    if form.is_row_action(action):
        return _render_editor(request, context)
    kind_errors = []
    if kind not in PlanKind.values:
        kind_errors.append("Choose the kind of draft.")
    elif verdict is not None and not verdict["accepts"]:
        kind_errors.append(verdict["kind_conflict"])
    if form.errors or kind_errors:
        return _render_editor(request, {**context, "kind_errors": kind_errors}, status=422)
    try:
        version = plan_version_create_draft(
            tenant=request.tenant,
            track_key=track_key,
            kind=kind,
            payload=form.payload,
            reason=context["reason"],
            actor=Actor.for_user(request.user),
        )
    except PlanError as exc:
        return _render_editor(request, {**context, "kind_errors": exc.errors}, status=422)
    messages.success(request, f"Draft v{version.number} created for {track_key}.")
    return redirect("plans:version", slug, version.number)


@tenant_view(roles=PLANNERS)
def version_edit(request: HttpRequest, number: int) -> HttpResponse:
    version = q.version_or_404(tenant=request.tenant, number=number)
    slug = request.tenant.slug
    if not version.is_editable:
        messages.error(
            request,
            f"v{version.number} is {version.get_status_display().lower()}: "
            "only drafts can be edited.",
        )
        return redirect("plans:version", slug, version.number)
    track_row = version.track
    context = {
        "track_name": track_row.key,
        "base": track_row.current_version,
        "version": version,
        "kind": version.kind,
        "action_url": reverse("plans:edit", args=[slug, version.number]),
        "verdict_url": reverse("plans:verdict", args=[slug, track_row.key]),
        "cancel_url": reverse("plans:version", args=[slug, version.number]),
        "save_label": f"Save draft v{version.number}",
    }
    if request.method != "POST":
        form = PlanPayloadForm(payload=version.payload)
    else:
        form = PlanPayloadForm(data=request.POST)
    action = request.POST.get("action", "save")
    if form.is_row_action(action):
        form.apply_row_action(action)
    verdict = _verdict(
        request=request, track_key=track_row.key, track=track_row, form=form, kind=version.kind
    )
    context.update(form=form, verdict=verdict)
    if request.method != "POST" or form.is_row_action(action):
        return _render_editor(request, context)
    if form.errors:
        return _render_editor(request, context, status=422)
    try:
        plan_version_edit(version=version, payload=form.payload, actor=Actor.for_user(request.user))
    except PlanError as exc:
        for message in exc.errors:
            form.add_error("__all__", message)
        return _render_editor(request, context, status=422)
    messages.success(request, f"Draft v{version.number} saved.")
    return redirect("plans:version", slug, version.number)


@require_POST
@tenant_view(roles=PLANNERS)
def verdict(request: HttpRequest, track: str) -> HttpResponse:
    """The live verdict partial: the editor posts itself here while the planner types."""
    track_key = _track_key_or_404(track)
    track_row = q.track_or_none(tenant=request.tenant, key=track_key)
    kind = request.POST.get("kind", "")
    number = request.POST.get("version", "")
    if number.isdigit() and len(number) < 10:
        version = q.version_or_404(tenant=request.tenant, number=int(number))
        if version.track_id != getattr(track_row, "pk", None):
            raise Http404("That version belongs to another track")
        kind = version.kind
    form = PlanPayloadForm(data=request.POST)
    found = _verdict(request=request, track_key=track_key, track=track_row, form=form, kind=kind)
    return render(request, "plans/editor.html#verdict", {"verdict": found})


# --- Transitions ---------------------------------------------------------------------------------
@require_POST
@tenant_view(roles=PLANNERS)
def version_submit(request: HttpRequest, number: int) -> HttpResponse:
    version = q.version_or_404(tenant=request.tenant, number=number)
    try:
        plan_version_submit(version=version, actor=Actor.for_user(request.user))
    except PlanError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"v{version.number} submitted for approval.")
    return redirect("plans:version", request.tenant.slug, version.number)


@require_POST
@tenant_view(roles=PLANNERS)
def version_withdraw(request: HttpRequest, number: int) -> HttpResponse:
    version = q.version_or_404(tenant=request.tenant, number=number)
    try:
        plan_version_withdraw(version=version, actor=Actor.for_user(request.user))
    except PlanError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"v{version.number} withdrawn from approval: it is a draft again."
        )
    return redirect("plans:version", request.tenant.slug, version.number)


# --- Compare -------------------------------------------------------------------------------------
@tenant_view()
def compare(request: HttpRequest) -> HttpResponse:
    choices = q.tenant_versions(tenant=request.tenant)
    by_number = {v.number: v for v in choices}
    raw_a, raw_b = request.GET.get("a", ""), request.GET.get("b", "")
    errors = []
    a = b = None
    if raw_a or raw_b:
        a, b = by_number.get(_int(raw_a)), by_number.get(_int(raw_b))
        if a is None or b is None:
            errors.append("Choose two versions of this tenant to compare.")
        elif a.pk == b.pk:
            errors.append(
                f"v{a.number} compared with itself has no differences: choose two versions."
            )
    diff = summary = None
    if a and b and not errors:
        diff = plan_diff(a.payload, b.payload)
        summary = plan_revise_summary(a.payload, b.payload, diff=diff)
    return render(
        request,
        "plans/compare.html",
        {
            "nav": "plans",
            "choices": choices,
            "pickers": [
                ("a", "From version", a.number if a else _int(raw_a)),
                ("b", "To version", b.number if b else _int(raw_b)),
            ],
            "a": a if diff else None,
            "b": b if diff else None,
            "diff": diff,
            "diff_empty": diff is not None and diff_is_empty(diff),
            "summary": summary,
            "currency": b.payload.get("currency", "") if diff else "",
            "errors": errors,
        },
        status=400 if errors else 200,
    )


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None
