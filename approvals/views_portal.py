"""The client portal: a client approves budget increases and creative themes, rejects proposed
replans with a reason, and reads their decision history (seed 003 "Client-visible approvals").

Only people holding the client role see it, and only client-visible tickets of the tenants where
they are a client; anything else is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from approvals.events import people_told
from approvals.forms import PortalDecisionForm
from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.presentation import client_kind, subject_client_words
from approvals.selectors import ticket_allowed_verdicts
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import checkpoints_of, inclusion_proof, verifier_keys
from audit.selectors import audit_decisions_by_user
from audit.views import checkpoint_response, verifier_tool_response
from config.errors import DomainError
from tenants.access import client_only, memberships_of, tenant_ids_for
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


# A ticket's status as the client reads it: "open" is either waiting for them or with the team.
CLIENT_STATUS = {
    TicketStatus.APPROVED: ("Approved", "label-ok"),
    TicketStatus.REJECTED: ("Rejected", "label-danger"),
    TicketStatus.CHANGES_REQUESTED: ("Being revised", "label-warn"),
    TicketStatus.CANCELLED: ("Withdrawn", ""),
}


def _words(ticket: Ticket) -> dict:
    """The ticket in the client's words: its subject's owner names it where it can (a plan
    version, a change set); otherwise the ticket's own title and summary, written for the client
    (access requests and creative themes)."""
    words = subject_client_words(ticket)
    diff = ticket.diff if isinstance(ticket.diff, dict) else {}
    sentences = diff.get("summary") if isinstance(diff.get("summary"), list) else []
    if words is not None and words.summary is not None:
        sentences = list(words.summary)
    return {
        "title": words.title if words is not None else ticket.title,
        "kind": client_kind(ticket, words),
        # The ticket's summary explains to the team why it needs approval (guardrails,
        # thresholds): shown only where no owner speaks for the subject.
        "lead": "" if words is not None else ticket.summary,
        # Before/after rows only as the owner words them: the team's rows name field paths.
        "diff": {
            **diff,
            "summary": sentences,
            "changes": list(words.changes) if words is not None else [],
        },
        "sentences": sentences,
        "note": words.note if words is not None and not ticket.is_open else "",
        "closed_status": words.status if words is not None else "",
    }


def _item(ticket: Ticket, user) -> dict:
    """One portal item. It waits for the client until a client has decided on it, whatever the
    ticket still waits for: after that it is with the team."""
    client_decisions = [d for d in ticket.decisions.all() if d.role == Role.CLIENT]
    allowed = (
        []
        if client_decisions
        else ticket_allowed_verdicts(ticket=ticket, user=user, role=Role.CLIENT)
    )
    verdicts = [verdict for verdict in allowed if verdict in PORTAL_VERDICTS]
    words = _words(ticket)
    if ticket.is_open:
        status = ("Waiting for you", "label-accent") if verdicts else ("With your team", "")
    elif words["closed_status"]:
        status = (words["closed_status"], "")
    else:
        status = CLIENT_STATUS.get(ticket.status, (ticket.get_status_display(), ""))
    return {
        "ticket": ticket,
        **words,
        "status": status[0],
        "status_class": status[1],
        "verdicts": verdicts,
        "can_approve": Verdict.APPROVE in verdicts,
        "can_reject": Verdict.REJECT in verdicts,
        "client_decision": client_decisions[-1] if client_decisions else None,
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


def _render_item(
    request, ticket: Ticket, *, form=None, error: str = "", status: int = 200, confirm=False
):
    context = {
        **_item(ticket, request.user),
        "form": form or PortalDecisionForm(),
        "error": error,
        "confirm": confirm,
        "my_decisions": ticket.decisions.filter(user=request.user),
        "portal_nav": "home",
    }
    return render(request, "approvals/portal/item.html", context, status=status)


@client_only
def item(request, public_id: str):
    return _render_item(request, _client_ticket_or_404(request, public_id))


def decided_message(item: dict, *, verdict: str, reason: str, told: int = 0) -> str:
    """The client's decision, quoted back: what they decided on, in the words they were shown
    (never the ticket's title), their reason, and what happens next."""
    what = " ".join(item["sentences"]).strip()
    quoted = f"{item['title']} — “{what}”" if what else f"“{item['title']}”"
    # A quotation that ends its own sentence ends this one too: no "….”." after it.
    quoted += "" if quoted.rstrip("”").endswith((".", "!", "?")) else "."
    if verdict == Verdict.APPROVE:
        message = f"Thank you. You approved {quoted}"
        ticket = item["ticket"]
        if ticket.is_open:
            message += " It now waits for your account team."
        elif ticket.status == TicketStatus.APPROVED:
            message += " It is approved."
        return message
    message = f"Thank you. You rejected {quoted}"
    if reason:
        message += f" Your reason: “{reason}”"
        message += "" if reason.endswith((".", "!", "?")) else "."
    if told:
        return message + " Your account team has been told."
    return message + " Your account team sees it with the ticket."


@require_POST
@client_only
def item_decide(request, public_id: str):
    """Approve at once; reject with a reason, after a confirmation step (nothing is written by
    the first Reject, which shows what will be rejected and asks for the reason)."""
    ticket = _client_ticket_or_404(request, public_id)
    form = PortalDecisionForm(request.POST)
    if not form.is_valid():
        confirm = form.data.get("verdict") == Verdict.REJECT
        return _render_item(request, ticket, form=form, status=422, confirm=confirm)
    verdict = form.cleaned_data["verdict"]
    if verdict == Verdict.REJECT and not form.cleaned_data["confirm"]:
        return _render_item(request, ticket, form=form, confirm=True)
    reason = form.cleaned_data["reason"]
    decided_at = timezone.now()
    try:
        ticket = ticket_decide(
            ticket=ticket,
            actor=Actor.for_user(request.user),
            verdict=verdict,
            comment=reason,
            role=Role.CLIENT,
        )
    except DomainError as refused:
        return _render_item(
            request, ticket, form=form, error=refused.message, status=refused.status
        )
    ticket.refresh_from_db()
    messages.success(
        request,
        decided_message(
            _item(ticket, request.user),
            verdict=verdict,
            reason=reason.strip(),
            told=people_told(ticket=ticket, since=decided_at),
        ),
    )
    return redirect("portal:home")


@client_only
def history(request):
    decisions = list(
        TicketDecision.objects.filter(
            user=request.user,
            role=Role.CLIENT,
            ticket__in=_client_tickets(request.user),
        )
        .select_related("ticket", "ticket__tenant")
        .order_by("-created_at", "-id")[:HISTORY_SIZE]
    )
    words = {d.ticket_id: _words(d.ticket) for d in decisions}
    rows = [
        {
            "decision": d,
            "title": words[d.ticket_id]["title"],
            "verdict": "Approved" if d.verdict == Verdict.APPROVE else "Rejected",
            "status": (words[d.ticket_id]["closed_status"], "")
            if words[d.ticket_id]["closed_status"] and not d.ticket.is_open
            else CLIENT_STATUS.get(d.ticket.status, ("With your team", "")),
            "note": words[d.ticket_id]["note"],
        }
        for d in decisions
    ]
    return render(
        request,
        "approvals/portal/history.html",
        {"rows": rows, "portal_nav": "history"},
    )


# --- Proving a decision is in the log (audit/checkpoints.py) ------------------------------------
def _client_tenant_or_404(request, slug: str):
    for membership in memberships_of(request.user):
        if membership.role == Role.CLIENT and membership.tenant.slug == slug:
            return membership.tenant
    raise Http404("No such tenant")


@client_only
def proofs(request):
    """Each of the client's decisions as the audit log holds it, with a proof to download that it
    is in the log our latest signed checkpoint covers (tools/verify_checkpoint.py checks it)."""
    tenants = []
    for membership in memberships_of(request.user):
        if membership.role != Role.CLIENT:
            continue
        tenant = membership.tenant
        stored = checkpoints_of(tenant)
        latest = stored[-1] if stored else None
        events = list(
            audit_decisions_by_user(
                tenant=tenant, user=request.user, actions=[AuditAction.TICKET_DECIDED]
            )[:HISTORY_SIZE]
        )
        titles = {
            t.audit_id: _words(t)["title"]
            for t in _client_tickets(request.user).filter(
                tenant=tenant, public_id__in=[e.resource_id for e in events]
            )
        }
        rows = [
            {
                "event": event,
                "title": titles.get(event.resource_id, f"Ticket {event.resource_id}"),
                "verdict": event.data.get("verdict", ""),
                "covered": latest is not None and event.seq <= latest.size,
            }
            for event in events
        ]
        tenants.append({"tenant": tenant, "latest": latest, "rows": rows})
    context = {
        "tenants": tenants,
        "verifier_keys": [str(key) for key in verifier_keys()],
        "portal_nav": "proofs",
    }
    return render(request, "approvals/portal/proofs.html", context)


@client_only
def proof_checkpoint(request, tenant: str):
    stored = checkpoints_of(_client_tenant_or_404(request, tenant))
    if not stored:
        raise Http404("No checkpoint yet")
    return checkpoint_response(stored[-1])


@client_only
def proof_tool(request):
    return verifier_tool_response()


@client_only
def proof_download(request, tenant: str, seq: int):
    tenant_row = _client_tenant_or_404(request, tenant)
    event = (
        audit_decisions_by_user(
            tenant=tenant_row, user=request.user, actions=[AuditAction.TICKET_DECIDED]
        )
        .filter(seq=seq)
        .first()
    )
    stored = checkpoints_of(tenant_row)
    if event is None or not stored or stored[-1].size < event.seq:
        raise Http404("No proof of that decision (yet)")
    response = JsonResponse(inclusion_proof(event, stored[-1]), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = (
        f'attachment; filename="proof-{tenant_row.slug}-{event.seq}.json"'
    )
    return response
