"""The ticket page's follow / mute box (approvals.presentation.register_ticket_panel)."""

from __future__ import annotations

from notifications.fanout import ticket_targets
from notifications.models import Watch


def watch_panel(ticket, user) -> tuple[str, dict] | None:
    targets = ticket_targets(ticket)
    watches = {
        (w.target_type, w.target_id): w.mode
        for w in Watch.objects.filter(user=user, tenant_id=ticket.tenant_id)
        if (w.target_type, w.target_id) in targets
    }
    return (
        "notifications/_watch_panel.html",
        {
            "tenant": ticket.tenant,
            "targets": [
                {"type": kind, "id": target_id, "mode": watches.get((kind, target_id))}
                for kind, target_id in targets
            ],
        },
    )
