"""The dashboard's alignment panel (issue 16 item 5), read from optimization/alignment.py."""

from __future__ import annotations

from approvals.inbox import sla_text
from optimization.alignment import open_alignments


def alignment_panel(user, memberships) -> tuple[str, dict] | None:
    """The dashboard panel (approvals.presentation.register_dashboard_panel): tracks whose live
    entities still have to align with an approved version, overdue ones in red like an overdue
    ticket. Nothing shows when every track is aligned."""
    tenant_ids = [m.tenant_id for m in memberships]
    work = open_alignments(tenant_ids=tenant_ids) if tenant_ids else []
    if not work:
        return None
    return (
        "optimization/_alignment_panel.html",
        {
            "work": [
                {
                    "alignment": a,
                    "due": sla_text(due_at=a.due_at, now=a.now),
                }
                for a in work
            ],
            "overdue": sum(1 for a in work if a.overdue),
            "many_tenants": len(tenant_ids) > 1,
        },
    )
