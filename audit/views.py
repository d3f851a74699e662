"""The tenant's audit log (filters, HTMX paging, exports) and the trail of one resource."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone

from audit.checkpoints import checkpoint_of, checkpoints_of, verifier_keys
from audit.exports import csv_lines, jsonl_lines
from audit.filters import AuditEventFilter
from audit.resources import resource_names
from audit.selectors import audit_events_for_tenant
from config.query import filters_refused, page_number, query_without
from config.replicas import replica_reads, replica_stream
from tenants.access import tenant_view
from tenants.models import Role

PAGE_SIZE = 50


def _filtered(request: HttpRequest) -> AuditEventFilter:
    return AuditEventFilter(
        request.GET or None,
        tenant=request.tenant,
        queryset=audit_events_for_tenant(tenant=request.tenant),
    )


@tenant_view()
@replica_reads
def audit_log(request: HttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(page_number(request.GET.get("page")))
    # Each event's resource in words, the page's at once (a resolver reads its type in one query).
    names = resource_names(request.tenant.slug, [(e.resource_type, e.resource_id) for e in page])
    for event in page:
        event.resource_words = names[(event.resource_type, event.resource_id)]
    context = {
        "filter": filterset,
        "page": page,
        "query": query_without(request, "page"),
        "nav": "audit",
    }
    if request.htmx and request.htmx.target == "audit-events":
        return render(request, "audit/log.html#events", context)
    return render(request, "audit/log.html", context)


def _export(request: HttpRequest, lines, content_type: str, extension: str) -> HttpResponse:
    filterset = _filtered(request)
    refused = filters_refused(filterset.form)
    if refused is not None:
        return refused
    events = filterset.qs
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(replica_stream(lines(events)), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.tenant.slug}-{stamp}.{extension}"'
    )
    return response


@tenant_view()
def audit_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, csv_lines, "text/csv; charset=utf-8", "csv")


@tenant_view()
def audit_export_jsonl(request: HttpRequest) -> HttpResponse:
    return _export(request, jsonl_lines, "application/jsonl; charset=utf-8", "jsonl")


@tenant_view()
@replica_reads
def audit_resource_trail(
    request: HttpRequest, resource_type: str, resource_id: str
) -> HttpResponse:
    context = {"resource_type": resource_type, "resource_id": resource_id, "nav": "audit"}
    return render(request, "audit/trail.html", context)


VERIFIER_TOOL = Path(settings.BASE_DIR) / "tools" / "verify_checkpoint.py"


def verifier_tool_response() -> HttpResponse:
    """tools/verify_checkpoint.py to download: the tenant needs nothing of ours but this file."""
    response = HttpResponse(VERIFIER_TOOL.read_text(), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verify_checkpoint.py"'
    return response


def checkpoint_response(stored) -> HttpResponse:
    """A signed checkpoint as the file a tenant keeps (text, its size in the name)."""
    response = HttpResponse(stored.note, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stored.filename}"'
    return response


@tenant_view(roles=[Role.ADMIN])
def audit_checkpoints(request: HttpRequest) -> HttpResponse:
    """The tenant's signed checkpoints, newest first, the keys that verify them and how."""
    checkpoints = list(reversed(checkpoints_of(request.tenant)))
    context = {
        "checkpoints": checkpoints[:100],
        "count": len(checkpoints),
        "verifier_keys": [str(key) for key in verifier_keys()],
        "nav": "audit",
    }
    return render(request, "audit/checkpoints.html", context)


@tenant_view(roles=[Role.ADMIN])
def audit_verifier_tool(request: HttpRequest) -> HttpResponse:
    return verifier_tool_response()


@tenant_view(roles=[Role.ADMIN])
def audit_checkpoint_download(request: HttpRequest, size: int) -> HttpResponse:
    stored = checkpoint_of(request.tenant, size)
    if stored is None:
        raise Http404("No checkpoint of that size")
    return checkpoint_response(stored)
