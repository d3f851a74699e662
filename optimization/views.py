"""The optimization log of a track (filters, paging, CSV), the change set page with its two
actions (approve a smaller move, roll back).

Thin views: parse, check the role, call one service, render. Internal roles read; only operators
and admins act on change sets. Another tenant's track or change set is a 404. (A recommendation
is decided on its ticket: approving it opens its draft in the editor, optimization/panels.py.)
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from approvals.types import roles_that_may_approve
from audit.actors import Actor
from config.errors import DomainError, page_error
from config.query import filters_refused, page_number, query_without
from optimization import views_queries as q
from optimization.exports import log_csv_lines
from optimization.filters import ChangeSetLogFilter
from optimization.forms import RollbackForm, smaller_move_errors
from optimization.models import ChangeSetStatus
from optimization.selectors import change_set_or_none
from optimization.services import (
    change_set_approve_with_edit,
    change_set_rollback,
    rollback_preview,
)
from plans.selectors import track_get
from tenants.access import require_role, tenant_view
from tenants.models import Role

PAGE_SIZE = 25
OPERATORS = (Role.OPERATOR, Role.ADMIN)
PLANNERS = (Role.PLANNER,)
APPROVE_SMALLER = "approve_smaller"
ROLL_BACK = "roll_back"


def can_operate(request: HttpRequest) -> bool:
    return request.membership.role in OPERATORS


# --- The log -------------------------------------------------------------------------------------
def _log_filter(request: HttpRequest, track) -> ChangeSetLogFilter:
    return ChangeSetLogFilter(
        request.GET or None,
        agents=q.log_agents(track=track),
        tz_name=request.tenant.time_zone,
        queryset=q.log_queryset(track=track),
    )


@tenant_view()
def log(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    filterset = _log_filter(request, track_row)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    context = {
        "nav": "plans",
        "track": track_row,
        "filter": filterset,
        "page": page,
        "rows": q.log_rows(page.object_list),
        "query": query_without(request, "page"),
        "currency": track_row.currency,
    }
    if request.htmx and request.htmx.target == "log-rows":
        return render(request, "optimization/log.html#rows", context)
    return render(request, "optimization/log.html", context)


@tenant_view()
def log_csv(request: HttpRequest, track: str) -> HttpResponse:
    track_row = track_get(tenant=request.tenant, key=track)
    filterset = _log_filter(request, track_row)
    refused = filters_refused(filterset.form)
    if refused is not None:
        return refused
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        log_csv_lines(filterset.qs, tz_name=request.tenant.time_zone),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="optimization-{request.tenant.slug}-{track_row.key}-{stamp}.csv"'
    )
    return response


# --- One change set ------------------------------------------------------------------------------
def _smaller_move_rows(change_set, posted=None, errors=None) -> list[dict]:
    posted, errors = posted or {}, errors or {}
    return [
        {
            "item": item,
            "name": f"item-{item.position}",
            "value": posted.get(f"item-{item.position}", ""),
            "error": errors.get(item.position, ""),
        }
        for item in q.budget_items(change_set)
    ]


def _render_change_set(request, change_set, *, status: int = 200, **extra) -> HttpResponse:
    operator = can_operate(request)
    preview = None
    if operator and change_set.is_applied:
        preview = rollback_preview(change_set=change_set)
    policy = request.tenant.policy
    a3 = q.open_a3(change_set)
    context = {
        **q.change_set_page(change_set),
        "nav": "plans",
        "track": change_set.track,
        "can_operate": operator,
        # Only a role that fills a slot of the A3 (an operator) approves it, smaller or not.
        "can_approve_smaller": bool(
            a3 and request.membership.role in roles_that_may_approve(a3.required_roles)
        ),
        "a3": a3,
        "smaller_moves": extra.pop("smaller_moves", None) or _smaller_move_rows(change_set),
        "preview": preview,
        "rollback_applies_at_once": bool(
            preview and preview.verdict and preview.verdict.status == ChangeSetStatus.APPLIED
        ),
        "rollback_form": extra.pop("rollback_form", None) or RollbackForm(),
        "optimization_pct": policy.auto_approve_optimization_under_pct,
        "drift_pct": policy.drift_pct,
        **extra,
    }
    return render(request, "optimization/change_set.html", context, status=status)


@tenant_view()
def change_set_detail(request: HttpRequest, change_set_id: str) -> HttpResponse:
    """The change set's page; an operator's two actions post here (`action`)."""
    change_set = change_set_or_none(tenant=request.tenant, change_set_id=change_set_id)
    if change_set is None:
        raise Http404("No such change set")
    if request.method != "POST":
        return _render_change_set(request, change_set)
    require_role(request.membership, OPERATORS)
    action = request.POST.get("action")
    if action == APPROVE_SMALLER:
        return _approve_smaller(request, change_set)
    if action == ROLL_BACK:
        return _roll_back(request, change_set)
    messages.error(request, "Choose an action on the change set: nothing was changed.")
    return _render_change_set(request, change_set, status=400)


def _approve_smaller(request: HttpRequest, change_set) -> HttpResponse:
    posted = {k: v for k, v in request.POST.items() if k.startswith("item-")}
    approved = {
        item.position: posted.get(f"item-{item.position}", "").strip()
        for item in q.budget_items(change_set)
    }
    try:
        change_set = change_set_approve_with_edit(
            change_set=change_set,
            actor=Actor.for_user(request.user),
            approved={position: value for position, value in approved.items() if value},
            comment=request.POST.get("comment", ""),
        )
    except DomainError as exc:
        if exc.status != 422:
            page_error(request, exc)
            return _back_to(request, change_set)
        by_item, general = smaller_move_errors(exc)
        return _render_change_set(
            request,
            change_set,
            status=422,
            smaller_moves=_smaller_move_rows(change_set, posted, by_item),
            smaller_error=general,
            comment=request.POST.get("comment", ""),
        )
    messages.success(
        request,
        f"{change_set.change_set_id} approved for a smaller move: "
        f"{change_set.get_status_display().lower()}.",
    )
    return _back_to(request, change_set)


def _back_to(request: HttpRequest, change_set) -> HttpResponse:
    return redirect("optimization:change_set", request.tenant.slug, change_set.change_set_id)


def _roll_back(request: HttpRequest, change_set) -> HttpResponse:
    form = RollbackForm(request.POST)
    if not form.is_valid():
        return _render_change_set(request, change_set, status=422, rollback_form=form)
    try:
        rollback = change_set_rollback(
            change_set=change_set,
            actor=Actor.for_user(request.user),
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        page_error(request, exc)
        return _back_to(request, change_set)
    messages.success(
        request,
        f"{change_set.change_set_id} rolled back by {rollback.change_set_id}: "
        f"{rollback.get_status_display().lower()}.",
    )
    return _back_to(request, rollback)
