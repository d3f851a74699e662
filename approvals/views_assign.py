"""Assigning a ticket to a named responder (approvals/assignment.py) from its page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from approvals.assignment import ticket_assign
from approvals.models import Ticket
from approvals.views import _staff_ticket_view
from audit.actors import Actor
from config.errors import DomainError


@require_POST
@_staff_ticket_view
def ticket_assignment(request, ticket: Ticket, role: str):
    name = request.POST.get("assignee", "").strip()
    assignee = get_user_model().objects.filter(username=name).first() if name else None
    if name and assignee is None:
        messages.error(request, f"Nobody is called {name!r}.")
    else:
        try:
            ticket_assign(ticket=ticket, actor=Actor.for_user(request.user), assignee=assignee)
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                f"{ticket.public_id} is assigned to {name}: they are told."
                if assignee
                else f"{ticket.public_id} is assigned to nobody.",
            )
    return redirect(reverse("ticket", kwargs={"public_id": ticket.public_id}))
