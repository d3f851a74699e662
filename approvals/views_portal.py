"""The client portal: a client approves budget increases and creative themes, rejects proposed
replans with a reason, and reads their decision history (seed 003 "Client-visible approvals").

Only people holding the client role see it, and only client-visible tickets of the tenants where
they are a client; anything else is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from approvals.forms import PortalDecisionForm
from approvals.inbox import verdicts_for_role
from approvals.models import Ticket, TicketDecision, TicketStatus, Verdict
from approvals.services import ticket_decide
from approvals.types import TicketType
from audit.actors import Actor
from config.errors import DomainError
from tenants.access import tenant_ids_for
from tenants.models import Role

PORTAL_VERDICTS = (Verdict.APPROVE, Verdict.REJECT)
HISTORY_SIZE = 100


def _client_tickets(user):
    return (
        Ticket.objects.filter(
            tenant__in=tenant_ids_for(user, roles=[Role.CLIENT]), client_visible=True
        )
        .select_related("tenant")
        .order_by("-created_at", "-id")
    )


def client_only(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.memberships.filter(role=Role.CLIENT).exists():
            raise Http404("The portal is for client users")
        return view(request, *args, **kwargs)

    return wrapper


def portal_kind(ticket: Ticket) -> str:
    """What the client is asked, in their words."""
    if ticket.type == TicketType.A7:
        return "Creative theme"
    if ticket.type == TicketType.A4:
        return "Access request"
    raw = ticket.diff.get("raw") if isinstance(ticket.diff, dict) else None
    kind = raw.get("kind", "") if isinstance(raw, dict) else ""
    text = f"{ticket.title} {kind}".lower()
    if "replan" in text:
        return "Proposed replan"
    if ticket.type in (TicketType.A3, TicketType.A5):
        return "Budget increase"
    return ticket.ticket_type.name


def _item(ticket: Ticket, user) -> dict:
    allowed = verdicts_for_role(ticket, role=Role.CLIENT, user=user)
    verdicts = [verdict for verdict in allowed if verdict in PORTAL_VERDICTS]
    return {
        "ticket": ticket,
        "kind": portal_kind(ticket),
        "verdicts": verdicts,
        "can_approve": Verdict.APPROVE in verdicts,
        "can_reject": Verdict.REJECT in verdicts,
    }


@client_only
def home(request):
    open_tickets = (
        _client_tickets(request.user).filter(status=TicketStatus.OPEN).prefetch_related("decisions")
    )
    items = [_item(ticket, request.user) for ticket in open_tickets]
    return render(
        request,
        "approvals/portal/home.html",
        {
            "waiting": [item for item in items if item["verdicts"]],
            "in_progress": [item for item in items if not item["verdicts"]],
            "portal_nav": "home",
        },
    )


def _client_ticket_or_404(request, public_id: str) -> Ticket:
    ticket = _client_tickets(request.user).filter(public_id=public_id).first()
    if ticket is None:
        raise Http404("No such item")
    return ticket


def _render_item(request, ticket: Ticket, *, form=None, error: str = "", status: int = 200):
    context = {
        **_item(ticket, request.user),
        "form": form or PortalDecisionForm(),
        "error": error,
        "my_decisions": ticket.decisions.filter(user=request.user),
        "portal_nav": "home",
    }
    return render(request, "approvals/portal/item.html", context, status=status)


@client_only
def item(request, public_id: str):
    return _render_item(request, _client_ticket_or_404(request, public_id))


@require_POST
@client_only
def item_decide(request, public_id: str):
    ticket = _client_ticket_or_404(request, public_id)
    form = PortalDecisionForm(request.POST)
    if not form.is_valid():
        return _render_item(request, ticket, form=form, status=422)
    verdict = form.cleaned_data["verdict"]
    try:
        ticket = ticket_decide(
            ticket=ticket,
            actor=Actor.for_user(request.user),
            verdict=verdict,
            comment=form.cleaned_data["reason"],
            role=Role.CLIENT,
        )
    except DomainError as refused:
        return _render_item(
            request, ticket, form=form, error=refused.message, status=refused.status
        )
    done = "approved" if verdict == Verdict.APPROVE else "rejected"
    messages.success(request, f"Thank you: you {done} “{ticket.title}”.")
    return redirect("portal:home")


@client_only
def history(request):
    decisions = (
        TicketDecision.objects.filter(
            user=request.user,
            role=Role.CLIENT,
            ticket__in=_client_tickets(request.user),
        )
        .select_related("ticket", "ticket__tenant")
        .order_by("-created_at", "-id")[:HISTORY_SIZE]
    )
    return render(
        request,
        "approvals/portal/history.html",
        {"decisions": decisions, "portal_nav": "history"},
    )
