"""System Ops: the tenant's agent runs (filters, paging, CSV) and one run's page — its gate
calls, counters against their ceilings, cost against the estimate and the Cost Guard's line,
reservations, QC, red flags and change sets — where an operator or admin clears a red flag or
ends the run.

Internal roles read; a client gets a 404, as if the pages did not exist. Views parse, check who
is asking and call one service.
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from agents import views_queries as q
from agents.filters import RunFilter
from agents.forms import CLEAR_A8, CLEAR_A9, END_RUN, RunActionForm
from agents.selectors import run_block_reason, run_ceilings
from agents.services import run_cost_guard_clear
from approvals.services import ticket_decide
from approvals.types import TicketType, Verdict
from audit.actors import Actor
from config.errors import DomainError
from config.formatting import money
from config.query import filters_refused, page_number, query_without
from tenants.access import tenant_view
from tenants.models import INTERNAL_ROLES, Role, TenantPolicy

PAGE_SIZE = 50
OPERATORS = frozenset({Role.OPERATOR, Role.ADMIN})


def internal_tenant_view(view):
    """tenant_view for internal roles, where a client member gets a 404 rather than a 403: the
    System Ops pages are not theirs to know of."""

    @tenant_view(roles=Role.values)
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership.role not in INTERNAL_ROLES:
            raise Http404("No such page")
        return view(request, *args, **kwargs)

    return wrapper


def _filtered(request) -> RunFilter:
    agents, models = q.run_filter_choices(tenant=request.tenant)
    return RunFilter(
        request.GET or None,
        queryset=q.runs_for_tenant(tenant=request.tenant),
        agents=agents,
        models=models,
    )


@internal_tenant_view
def runs(request):
    filterset = _filtered(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    policy = TenantPolicy.objects.get(tenant=request.tenant)
    context = {
        "nav": "runs",
        "filter": filterset,
        "page": page,
        "rows": q.run_rows(page.object_list, policy),
        "ceilings": run_ceilings(policy),
        "query": query_without(request, "page"),
    }
    if request.htmx and request.htmx.target == "runs":
        return render(request, "agents/runs.html#runs", context)
    return render(request, "agents/runs.html", context)


@internal_tenant_view
def runs_csv(request):
    filterset = _filtered(request)
    refused = filters_refused(filterset.form)
    if refused is not None:
        return refused
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        q.runs_csv_lines(filterset.qs), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="runs-{request.tenant.slug}-{stamp}.csv"'
    )
    return response


def run_url(run) -> str:
    return reverse("agents:run", args=[run.tenant.slug, run.run_id])


@internal_tenant_view
def run_detail(request, run_id: str):
    run = q.run_for_tenant(tenant=request.tenant, run_id=run_id)
    if run is None:
        raise Http404("No such run")
    if request.method == "POST":
        return _act(request, run)
    return _render_run(request, run)


def _act(request, run):
    """Clear the run's A8, clear its A9 with a raised estimate, or end it (reject its red flag).
    Bad input re-renders the page with the message and writes nothing."""
    if request.membership.role not in OPERATORS:
        raise PermissionDenied("Only an operator or admin clears a red flag or ends a run.")
    form = RunActionForm(request.POST)
    if not form.is_valid():
        return _render_run(request, run, form=form, status=422)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    actor = Actor.for_user(request.user)
    try:
        if action == CLEAR_A9:
            run = run_cost_guard_clear(
                run=run,
                actor=actor,
                estimated_cost_usd=form.cleaned_data["estimated_cost_usd"],
                reason=reason,
            )
            done = (
                f"Cleared the Cost Guard on {run.run_id}: its estimate is now "
                f"{money(run.estimated_cost_usd, 'USD')}."
            )
        else:
            clearing = action == CLEAR_A8
            ticket = q.open_ticket_of(run, TicketType.A8)
            if ticket is None and not clearing:
                ticket = q.open_ticket_of(run, TicketType.A9)
            if ticket is None:
                raise DomainError(
                    f"Run {run.run_id} has no open {'A8' if clearing else 'red flag'} to decide.",
                    status=409,
                )
            ticket_decide(
                ticket=ticket,
                actor=actor,
                verdict=Verdict.APPROVE if clearing else Verdict.REJECT,
                comment=reason,
                role=request.membership.role,
            )
            done = (
                f"Cleared {ticket.public_id}: {run.run_id} may go on."
                if clearing
                else f"Ended {run.run_id} ({ticket.public_id} rejected)."
            )
    except DomainError as refused:
        return _render_run(request, run, form=form, error=refused.message, status=refused.status)
    messages.success(request, done)
    return redirect(run_url(run))


def _render_run(request, run, *, form=None, error: str = "", status: int = 200):
    tenant = request.tenant
    policy = TenantPolicy.objects.get(tenant=tenant)
    calls, call_count = q.run_timeline(run)
    can_act = request.membership.role in OPERATORS
    a8 = q.open_ticket_of(run, TicketType.A8) if can_act else None
    a9 = q.open_ticket_of(run, TicketType.A9) if can_act else None
    # The refusal shows above the form that was sent, or atop the page when that form is gone
    # (someone else decided the red flag a moment ago) or was never one of ours.
    posted = form.data.get("action", "") if form is not None else ""
    shown = {CLEAR_A8: a8 is not None, CLEAR_A9: a9 is not None, END_RUN: bool(a8 or a9)}
    failed = {posted: True} if shown.get(posted) else {}
    page_error = ""
    if form is not None and not failed:
        page_error = error or " ".join(
            str(problem) for problems in form.errors.values() for problem in problems
        )
    context = {
        "nav": "runs",
        "run": run,
        "tenant": tenant,
        "block_reason": q.reason_words(run_block_reason(run)),
        "red_flags_open": q.open_red_flags(run),
        "counters": q.run_counters(run, run_ceilings(policy)),
        "calls": calls,
        "call_count": call_count,
        "cost": q.run_cost(run, policy, tz=ZoneInfo(tenant.time_zone)),
        "reservations": q.run_reservations(run),
        "qc": q.run_qc(run),
        "tickets": q.run_red_flag_tickets(run),
        "change_sets": q.run_change_set_rows(run),
        "can_act": can_act,
        "a8": a8,
        "a9": a9,
        "form": form,
        "failed": failed,
        "page_error": page_error,
        "error": error,
    }
    return render(request, "agents/run.html", context, status=status)
