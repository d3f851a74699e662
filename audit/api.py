"""Agents read their tenant's audit trail: GET /api/v1/audit/events."""

from datetime import datetime

from ninja import Field, Query, Router, Schema

from audit.selectors import audit_events_after

router = Router(tags=["audit"])

PAGE_MAX = 500


class AuditEventsQuery(Schema):
    after_seq: int = Field(0, ge=0, description="only events after this seq (0: from the start)")
    limit: int = Field(100, ge=1, le=PAGE_MAX, description=f"events per page, at most {PAGE_MAX}")


class AuditEventOut(Schema):
    seq: int
    created_at: datetime
    actor_type: str
    actor_id: str
    actor_label: str
    action: str
    resource_type: str
    resource_id: str
    plan_version: int | None
    payload_hash: str
    data: dict
    prev_hash: str
    hash: str


class AuditEventsPage(Schema):
    events: list[AuditEventOut]
    next_after_seq: int = Field(description="pass as after_seq to read on")
    has_more: bool


@router.get(
    "/audit/events",
    response=AuditEventsPage,
    summary="The key's tenant's audit events in chain order, a page at a time",
)
def audit_events(request, query: Query[AuditEventsQuery]):
    events, has_more = audit_events_after(
        tenant=request.agent_key.tenant, after_seq=query.after_seq, limit=query.limit
    )
    return {
        "events": events,
        "next_after_seq": events[-1].seq if events else query.after_seq,
        "has_more": has_more,
    }
