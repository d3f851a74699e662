"""The Human Touch Dashboard: inbox with the red-flag lane, and the ticket page with its actions.

Views parse, check who is asking and call one service. A region updated by htmx is a partial of
the page template (`page.html#name`); without JavaScript the same forms post and redirect.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from approvals.assignment import assignment_context
from approvals.explain import (
    Decision,
    decision_message,
    ends_for_everyone,
    slot_states,
    withdraw_warning,
)
from approvals.filters import QUEUE_MINE, InboxFilter
from approvals.forms import CommentForm, DecisionForm
from approvals.inbox import (
    by_urgency,
    capped_count,
    inbox_tickets,
    page_of_tickets,
    red_flag_lane,
    ticket_subject_label,
    waiting_for,
    waiting_slots,
)
from approvals.models import Ticket, TicketStatus
from approvals.presentation import (
    dashboard_panels,
    decision_destination,
    subject_outcome,
    subject_panel,
    ticket_panels,
)
from approvals.rules import own_work_refusal
from approvals.selectors import (
    ticket_allowed_verdicts,
    ticket_own_work_reason,
    ticket_withdraws,
    ticket_withdrew,
)
from approvals.services import ticket_comment_add, ticket_decide
from approvals.types import Verdict, roles_that_may_approve
from audit.actors import Actor
from config.errors import DomainError
from config.query import query_without
from tenants.access import memberships_of, request_memberships
from tenants.admin_scope import is_platform
from tenants.models import INTERNAL_ROLES, Membership, Role, Tenant
from tenants.selectors import tenants_exist

PAGE_SIZE = 25
RED_FLAG_LANE_SIZE = 10
QUEUE_COUNT_CAP = 99  # the tab says "99+" beyond
VERDICT_WORDS = {
    Verdict.APPROVE: "Approve",
    Verdict.REJECT: "Reject",
    Verdict.REQUEST_CHANGES: "Request changes",
}


@login_required
def dashboard(request):
    """The inbox across every tenant the person works in. A client-only person belongs in the
    portal; a platform superuser in no tenant (who fills no approval slot) on every tenant's
    board — Django admin while there is no tenant yet."""
    memberships = request_memberships(request)
    internal = [m for m in memberships if m.role in INTERNAL_ROLES]
    if not internal:
        if memberships:
            return redirect("portal:home")
        if is_platform(request.user):
            return redirect("metrics:all" if tenants_exist() else "admin:index")
        return render(request, "approvals/no_tenant.html", status=403)
    if request.membership and request.membership.role not in INTERNAL_ROLES:
        # The current tenant (top bar, nav links) should be one where the dashboard applies.
        request.session["tenant_id"] = internal[0].tenant_id
        return redirect(request.get_full_path())

    tickets = inbox_tickets(user=request.user)
    data = request.GET.copy()
    data.setdefault("status", "open")  # an inbox shows what is open unless asked otherwise
    filterset = InboxFilter(
        data,
        queryset=tickets,
        request=request,
        tenants=Tenant.objects.filter(pk__in=[m.tenant_id for m in internal]),
        memberships=internal,
    )
    page = page_of_tickets(
        by_urgency(filterset.qs, now=timezone.now()),
        number=request.GET.get("page"),
        per_page=PAGE_SIZE,
    )
    lane, lane_count = red_flag_lane(tickets, size=RED_FLAG_LANE_SIZE)
    context = {
        "nav": "dashboard",
        "filterset": filterset,
        "page": page,
        "query_without_page": query_without(request, "page"),
        "query_without_queue": query_without(request, "queue", "page"),
        "my_queue": data.get("queue") == QUEUE_MINE,
        # "All N matching this filter" is offered for one type at a time (bulk decisions).
        "bulk_type": data.get("type", "") if filterset.is_valid() else "",
        "my_queue_count": capped_count(
            waiting_for(tickets, user=request.user, memberships=internal), cap=QUEUE_COUNT_CAP
        ),
        "queue_count_cap": QUEUE_COUNT_CAP,
        "red_flags": lane,
        "red_flag_count": lane_count,
        "tenant_count": len(internal),
        # Beside the red-flag lane, owned by the apps that register them (agents: QC alerts).
        "panels": dashboard_panels(user=request.user, memberships=internal),
    }
    if request.htmx and request.htmx.target == "inbox":
        return render(request, "approvals/dashboard.html#inbox", context)
    return render(request, "approvals/dashboard.html", context)


def _staff_ticket_view(view):
    """Load the ticket for a person working in its tenant and pass their role there.

    Not their tenant → 404. A client is sent to the portal for what they may see and gets a 404
    for internal tickets, exactly as if they did not exist.
    """

    @login_required
    @wraps(view)
    def wrapper(request, public_id: str):
        ticket = Ticket.objects.select_related("tenant").filter(public_id=public_id).first()
        membership = (
            memberships_of(request.user).filter(tenant_id=ticket.tenant_id).first()
            if ticket
            else None
        )
        if membership is None:
            raise Http404("No such ticket")
        if membership.role == Role.CLIENT:
            if not ticket.client_visible:
                raise Http404("No such ticket")
            return redirect("portal:item", public_id=ticket.public_id)
        return view(request, ticket, membership.role)

    return wrapper


def _verdict_word(ticket: Ticket, verdict: str) -> str:
    # Approving a red flag is what operators call clearing it: the run may go on.
    if ticket.is_red_flag and verdict == Verdict.APPROVE:
        return "Clear"
    return VERDICT_WORDS[verdict]


def _decision_heading(ticket: Ticket, subject: str) -> str:
    """ "Decision: A5 for v12": the decision panel's heading names the ticket's type and its
    subject in full, so its buttons can be one word ("Approve") that fits a phone."""
    return f"Decision: {ticket.type} for {subject}"


def _explained(decisions) -> list[Decision]:
    return [Decision(d.role, d.slot, d.verdict, d.user.get_username()) for d in decisions]


# How a cancelled ticket names what withdrew it: "Withdrawn because A5-… was rejected".
CAUSE_WORDS = {
    TicketStatus.APPROVED: "was approved",
    TicketStatus.REJECTED: "was rejected",
    TicketStatus.CHANGES_REQUESTED: "was sent back for changes",
    TicketStatus.CANCELLED: "was withdrawn",
}


def _confirm_context(ticket: Ticket, verdict: str, withdraws) -> dict:
    """The step between pressing Reject (or a Request changes that withdraws other tickets) and
    acting: a reason and a second, explicit button. Without JavaScript it is the ticket page with
    this step in its decision region; with htmx only the region is swapped."""
    return {
        "verdict": verdict,
        "label": f"Confirm: {_verdict_word(ticket, verdict).lower()}",
        "reason_required": verdict == Verdict.REJECT,
        "reason_label": (
            "Why do you reject it? (required; the requester sees it)"
            if verdict == Verdict.REJECT
            else "What should change? (the requester sees it)"
        ),
        "warning": withdraw_warning(withdraws),
    }


def _decision_context(ticket: Ticket, user, **extra) -> dict:
    """The swappable decision region: status, what became of each approval slot, the links to
    the tickets that overrode or withdrew this one, and the buttons allowed now."""
    # Long on purpose: the decision region's context in one place so the full page and its htmx
    # swap render the same thing.
    decisions = list(ticket.decisions.select_related("user"))
    subject = ticket_subject_label(ticket)
    verdicts = ticket_allowed_verdicts(ticket=ticket, user=user)
    actions = [
        {
            "verdict": verdict,
            "label": _verdict_word(ticket, verdict),
            "ends_for_everyone": ends_for_everyone(verdict),
        }
        for verdict in verdicts
    ]
    withdraws = ticket_withdraws(ticket) if any(ends_for_everyone(v) for v in verdicts) else []
    own_work_reason = ticket_own_work_reason(ticket, user) if actions else ""
    role = (
        Membership.objects.filter(user=user, tenant_id=ticket.tenant_id)
        .values_list("role", flat=True)
        .first()
        if own_work_reason
        else None
    )
    override = ticket.overridden_by.order_by("pk").first() if not ticket.is_open else None
    confirm_verdict = extra.get("confirm_verdict")
    return {
        "ticket": ticket,
        "decision_heading": _decision_heading(ticket, subject),
        "actions": actions,
        # Four eyes: say why there is no Approve button for the person who wrote it.
        "own_work_message": (
            own_work_refusal(own_work_reason, role)
            if own_work_reason
            and role
            in roles_that_may_approve(ticket.required_roles, client_visible=ticket.client_visible)
            else ""
        ),
        "slots": slot_states(
            type_id=ticket.type,
            required_roles=ticket.required_roles,
            client_visible=ticket.client_visible,
            status=ticket.status,
            decisions=_explained(decisions),
            override_id=override.public_id if override else "",
        ),
        "decisions": decisions,
        "override": override,
        "cancelled_by": ticket.cancelled_by,
        "withdrawn_note": (
            ticket.resolution_note if ticket.status == TicketStatus.CANCELLED else ""
        ),
        "cause_words": CAUSE_WORDS.get(ticket.cancelled_by.status, "")
        if ticket.cancelled_by
        else "",
        "withdraw_warning": withdraw_warning(
            withdraws, verdicts=[v for v in verdicts if ends_for_everyone(v)]
        ),
        "confirm": (
            _confirm_context(ticket, confirm_verdict, withdraws)
            if confirm_verdict in verdicts
            else None
        ),
        "decision_form": extra.get("decision_form") or DecisionForm(),
        "decision_error": extra.get("decision_error", ""),
        "done_message": extra.get("done_message", ""),
    }


def _thread(ticket: Ticket) -> list[dict]:
    """Comments and the decisions that carried a comment, in the order they were made."""
    entries = [
        {"at": c.created_at, "author": c.author_label, "body": c.body, "verdict": None}
        for c in ticket.comments.all()
    ] + [
        {
            "at": d.created_at,
            "author": f"{d.user.get_username()} ({d.role})",
            "body": d.comment,
            "verdict": d.get_verdict_display(),
        }
        for d in ticket.decisions.select_related("user")
        if d.comment
    ]
    return sorted(entries, key=lambda entry: entry["at"])


def _panel_context(request, ticket: Ticket, role: str) -> dict:
    """The subject owner's panel (a recommendation's evidence, a change set's page), if any."""
    panel = subject_panel(ticket, user=request.user, role=role)
    if panel is None:
        return {}
    template_name, context = panel
    return {"panel_template": template_name, "panel": context}


def _render_ticket_page(request, ticket: Ticket, *, role: str, status: int = 200, **context):
    context = {
        **_decision_context(ticket, request.user, **context),
        **_panel_context(request, ticket, role),
        "assignment": assignment_context(ticket),
        "side_panels": ticket_panels(ticket=ticket, user=request.user),
        "nav": "dashboard",
        "thread": _thread(ticket),
        "comment_form": context.get("comment_form") or CommentForm(),
    }
    return render(request, "approvals/ticket.html", context, status=status)


@_staff_ticket_view
def ticket_detail(request, ticket: Ticket, role: str):
    return _render_ticket_page(request, ticket, role=role)


def _needs_confirmation(ticket: Ticket, verdict: str, user) -> bool:
    """Reject always asks first; a request for changes asks when it withdraws other tickets.
    A verdict the person may not give asks nothing: ticket_decide says why it is refused."""
    if verdict not in ticket_allowed_verdicts(ticket=ticket, user=user):
        return False
    if verdict == Verdict.REJECT:
        return True
    return verdict == Verdict.REQUEST_CHANGES and bool(ticket_withdraws(ticket))


def _done_message(ticket: Ticket, *, verdict: str, role: str) -> str:
    ticket.refresh_from_db()
    return decision_message(
        public_id=ticket.public_id,
        type_id=ticket.type,
        verdict=verdict,
        role=role,
        status=ticket.status,
        waiting_for=waiting_slots(ticket),
        withdrawn=ticket_withdrew(ticket),
        outcome=subject_outcome(ticket),
    )


def _onward(request, ticket: Ticket, *, verdict: str, done: str):
    """Where a decision that leads somewhere (an approved recommendation's draft, in the editor)
    sends the decider — a redirect (HX-Redirect for htmx) with the outcome as the next page's
    message — or None to stay on the ticket."""
    url = decision_destination(ticket, verdict=verdict, user=request.user)
    if not url:
        return None
    messages.success(request, done)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@_staff_ticket_view
def ticket_decision(request, ticket: Ticket, role: str):
    form = DecisionForm(request.POST)
    error, status, confirm_verdict, done = "", 200, None, ""
    if not form.is_valid():
        error, status = "Choose approve, reject or request changes.", 422
    else:
        verdict = form.cleaned_data["verdict"]
        comment = form.cleaned_data["comment"]
        asks_first = _needs_confirmation(ticket, verdict, request.user)
        if asks_first and not form.cleaned_data["confirm"]:
            confirm_verdict = verdict  # nothing is written before the second button
        elif asks_first and verdict == Verdict.REJECT and not comment.strip():
            confirm_verdict, status = verdict, 422
            error = "Say why you reject it: the requester sees your reason."
        else:
            try:
                ticket = ticket_decide(
                    ticket=ticket,
                    actor=Actor.for_user(request.user),
                    verdict=verdict,
                    comment=comment,
                    role=role,
                )
                done = _done_message(ticket, verdict=verdict, role=role)
                if onward := _onward(request, ticket, verdict=verdict, done=done):
                    return onward
            except DomainError as refused:
                # A plain form post answers with the refusal's status; htmx gets 200, because
                # htmx does not swap error responses in and the message must replace the buttons.
                error, status = refused.message, refused.status
    if not request.htmx:
        if error or confirm_verdict:
            return _render_ticket_page(
                request,
                ticket,
                role=role,
                status=status,
                decision_form=form,
                decision_error=error,
                confirm_verdict=confirm_verdict,
            )
        messages.success(request, done)
        return redirect(ticket_url(ticket))
    context = _decision_context(
        ticket,
        request.user,
        decision_form=form if (error or confirm_verdict) else None,
        decision_error=error,
        confirm_verdict=confirm_verdict,
        done_message=done,
    )
    # The decision's comment joins the thread and the decision the audit trail, and the subject
    # may have moved on (a draft made, a change set applied): swap them too (out of band).
    context.update(
        thread=_thread(ticket),
        comment_form=CommentForm(),
        thread_oob=True,
        **_panel_context(request, ticket, role),
    )
    return render(request, "approvals/ticket.html#decision", context)


@require_POST
@_staff_ticket_view
def ticket_comment(request, ticket: Ticket, role: str):
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            ticket_comment_add(
                ticket=ticket, actor=Actor.for_user(request.user), body=form.cleaned_data["body"]
            )
        except DomainError as refused:
            form.add_error("body", refused.message)
    if not request.htmx:
        if form.errors:
            return _render_ticket_page(request, ticket, role=role, status=422, comment_form=form)
        return redirect(f"{ticket_url(ticket)}#thread")
    context = {
        "ticket": ticket,
        "thread": _thread(ticket),
        "comment_form": form if form.errors else CommentForm(),
    }
    return render(request, "approvals/ticket.html#thread", context)


def ticket_url(ticket: Ticket) -> str:
    return reverse("ticket", kwargs={"public_id": ticket.public_id})
