"""What refuses an automated change to an entity before anything is written, kept apart from the
manifest sync and the change-set submit that call it (each calls one function here):

- an open reconciliation (A6) on the entity → 423 `reconciliation_pending`, naming the ticket
  (optimization/services/reconcile.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import Blocked
from optimization.models import Reconciliation, ReconciliationStatus


class ReconciliationPending(Blocked):
    code = "reconciliation_pending"


def refuse_entities_under_reconciliation(*, tenant, entry_ids: Iterable[int]) -> None:
    """Refuse an automated change to any entity whose platform differs from the manifest and
    waits for an admin's decision (its A6 is open)."""
    ids = [pk for pk in entry_ids if pk is not None]
    if not ids:
        return
    waiting = list(
        Reconciliation.objects.filter(
            tenant=tenant, manifest_entry_id__in=ids, status=ReconciliationStatus.OPEN
        )
        .select_related("manifest_entry")
        .order_by("manifest_entry__platform", "manifest_entry__entity_id")
    )
    if waiting:
        named = ", ".join(f"{r.manifest_entry.audit_id} ({r.ticket})" for r in waiting)
        raise ReconciliationPending(
            f"Waiting for reconciliation: {named}. The platform runs something other than the "
            "manifest; no automated change applies to it until an admin decides the A6."
        )


def refuse_sync_under_reconciliation(*, tenant, rows: dict, cleaned: list[dict]) -> None:
    """A manifest sync that would change the state of an entity under reconciliation is an
    automated change too; the same entity synced unchanged goes through."""
    refuse_entities_under_reconciliation(
        tenant=tenant,
        entry_ids=[
            row.pk
            for entry in cleaned
            if (row := rows[(entry["platform"], entry["entity_id"])]).state != entry["state"]
        ],
    )
