"""Bulk decisions from the inbox: the selection (or "all N matching this filter") → a page that
lists each ticket as it is now and asks for one comment → the result, ticket by ticket."""

from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_POST

from approvals.bulk import BULK_MAX, BulkRefused, bulk_check, tickets_decide_bulk
from approvals.filters import InboxFilter
from approvals.fingerprint import ticket_shown_hash
from approvals.inbox import inbox_tickets
from approvals.models import Ticket
from approvals.types import Verdict
from audit.actors import Actor
from config.errors import DomainError
from config.text import COMMENT_MAX
from tenants.access import internal_only, memberships_of
from tenants.models import INTERNAL_ROLES, Tenant

VERDICT_BUTTON = {
    Verdict.APPROVE: "Approve",
    Verdict.REJECT: "Reject",
    Verdict.REQUEST_CHANGES: "Request changes on",
}


def _matching(request, query: str):
    """The tickets the inbox shows for `query` (the filter as the person set it)."""
    internal = [m for m in memberships_of(request.user) if m.role in INTERNAL_ROLES]
    data = QueryDict(query, mutable=True)
    data.setdefault("status", "open")
    return InboxFilter(
        data,
        queryset=inbox_tickets(user=request.user),
        request=request,
        tenants=Tenant.objects.filter(pk__in=[m.tenant_id for m in internal]),
        memberships=internal,
    ).qs


def _selected(request) -> list[Ticket]:
    if request.POST.get("all") == "1":
        qs = _matching(request, request.POST.get("query", ""))
        ids = list(qs.values_list("pk", flat=True)[: BULK_MAX + 1])
    else:
        public_ids = request.POST.getlist("t")[: BULK_MAX + 1]
        ids = list(
            inbox_tickets(user=request.user)
            .filter(public_id__in=public_ids)
            .values_list("pk", flat=True)
        )
    return list(
        Ticket.objects.filter(pk__in=ids).select_related("tenant").order_by("-created_at", "-id")
    )


def _render_confirm(request, tickets, verdict, *, error="", comment="", status=200):
    rows = [{"ticket": t, "hash": ticket_shown_hash(t)} for t in tickets]
    type_id = tickets[0].type if tickets else ""
    return render(
        request,
        "approvals/bulk_confirm.html",
        {
            "nav": "dashboard",
            "rows": rows,
            "verdict": verdict,
            "button": f"{VERDICT_BUTTON.get(verdict, 'Decide')} {len(rows)} {type_id} ticket"
            f"{'s' if len(rows) != 1 else ''}",
            "error": error,
            "comment": comment,
            "comment_max": COMMENT_MAX,
            "reason_required": verdict == Verdict.REJECT,
        },
        status=status,
    )


@require_POST
@internal_only
def bulk_confirm(request):
    verdict = request.POST.get("verdict", "")
    tickets = _selected(request)
    try:
        bulk_check(tickets=tickets, verdict=verdict, comment="-")
    except BulkRefused as refused:
        return _render_confirm(request, tickets, verdict, error=refused.message, status=422)
    return _render_confirm(request, tickets, verdict)


@require_POST
@internal_only
def bulk_decide(request):
    verdict = request.POST.get("verdict", "")
    comment = request.POST.get("comment", "")[: COMMENT_MAX + 1]
    public_ids = request.POST.getlist("t")[: BULK_MAX + 1]
    by_id = {
        t.public_id: t
        for t in inbox_tickets(user=request.user)
        .filter(public_id__in=public_ids)
        .select_related("tenant")
    }
    tickets = [by_id[pid] for pid in public_ids if pid in by_id]
    shown = {pid: request.POST.get(f"h_{pid}", "") for pid in public_ids}
    try:
        outcomes = tickets_decide_bulk(
            tickets=tickets,
            actor=Actor.for_user(request.user),
            verdict=verdict,
            comment=comment,
            shown=shown,
        )
    except DomainError as refused:
        return _render_confirm(
            request, tickets, verdict, error=refused.message, comment=comment, status=422
        )
    done = [o for o in outcomes if o.done]
    refused = [o for o in outcomes if not o.done]
    return render(
        request,
        "approvals/bulk_result.html",
        {
            "nav": "dashboard",
            "done": done,
            "refused": refused,
            "verdict_word": VERDICT_BUTTON.get(verdict, "Decided").replace(" on", ""),
            "comment": comment,
        },
    )
