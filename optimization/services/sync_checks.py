"""What refuses an automated change to an entity before anything is written, kept apart from the
manifest sync and the change-set submit that call it (each calls one function here):

- an open reconciliation (A6) on the entity → 423 `reconciliation_pending`, naming the ticket
  (optimization/services/reconcile.py);
- an entity going live on a platform account (`state.account`) that is not onboarded yet →
  423 `account_not_onboarded` (optimization/services/onboarding.py); an account the tenant never
  requested → 422 `unknown_account`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from config.errors import Blocked, DomainError
from optimization.models import (
    PlatformAccount,
    Reconciliation,
    ReconciliationStatus,
)

ACCOUNT = "account"  # the manifest state's key naming the platform account an entity runs on


class ReconciliationPending(Blocked):
    code = "reconciliation_pending"


class AccountNotOnboarded(Blocked):
    code = "account_not_onboarded"


def reconciliations_waiting(
    *, tenant, entry_ids: Iterable[int], restoring_too: bool = True
) -> QuerySet[Reconciliation]:
    """The reconciliations that refuse an automated change to the entities (see below); the
    change-set submit reads whether there is any with its other checks, in one query."""
    statuses = [ReconciliationStatus.OPEN]
    if restoring_too:
        statuses.append(ReconciliationStatus.RESTORING)
    ids = [pk for pk in entry_ids if pk is not None]
    return Reconciliation.objects.filter(
        tenant=tenant, manifest_entry_id__in=ids, status__in=statuses
    )


def refuse_entities_under_reconciliation(
    *, tenant, entry_ids: Iterable[int], restoring_too: bool = True
) -> None:
    """Refuse an automated change to any entity whose platform differs from the manifest and
    waits for an admin's decision (its A6 is open) — or, once the admin chose to restore the
    manifest's value, for the agent's alignment change set that restores it (`restoring`; the
    alignment change set itself passes `restoring_too=False`)."""
    ids = [pk for pk in entry_ids if pk is not None]
    if not ids:
        return
    waiting = list(
        reconciliations_waiting(tenant=tenant, entry_ids=ids, restoring_too=restoring_too)
        .select_related("manifest_entry")
        .order_by("manifest_entry__platform", "manifest_entry__entity_id")
    )
    if waiting:
        named = ", ".join(f"{r.manifest_entry.audit_id} ({r.ticket})" for r in waiting)
        restoring = [r for r in waiting if r.status == ReconciliationStatus.RESTORING]
        raise ReconciliationPending(
            f"Waiting for reconciliation: {named}. The platform runs something other than the "
            "manifest; no automated change applies to it until an admin decides the A6"
            + (
                " and the manifest's value is restored by an alignment change set "
                "(GET /api/v1/tracks/{track}/alignment)."
                if restoring
                else "."
            )
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


def refuse_live_entities_on_accounts_not_onboarded(*, tenant, entities: list[dict]) -> None:
    """`entities`: {"platform", "entity_id", "state", "live"} of each entity a sync writes or a
    change set launches. An account named must be one the tenant requested; an entity going live
    (`live`) needs it ready."""
    named = {
        (e["platform"], str(e["state"][ACCOUNT])): e
        for e in entities
        if isinstance(e.get("state"), dict) and e["state"].get(ACCOUNT) not in (None, "")
    }
    if not named:
        return
    accounts = {
        (a.platform, a.external_id): a
        for a in PlatformAccount.objects.filter(
            tenant=tenant, external_id__in={external for _p, external in named}
        )
    }
    for (platform, external), entity in sorted(named.items()):
        account = accounts.get((platform, external))
        if account is None:
            raise DomainError(
                f"{platform}:{entity['entity_id']} names account {external!r}, which this tenant "
                "never requested: request access first (POST /api/v1/platform-accounts).",
                code="unknown_account",
                fields={"state.account": ["no such platform account for this tenant"]},
            )
        if entity["live"] and not account.is_ready:
            raise AccountNotOnboarded(
                f"{platform}:{entity['entity_id']} can't go live: account {account.audit_id} is "
                f"{account.get_state_display().lower()} (its A4 {account.ticket}); it must be "
                "granted and its access verified first."
            )


def refuse_sync_on_accounts_not_onboarded(*, tenant, cleaned: list[dict]) -> None:
    """A manifest sync: every entry naming an account, live when its status is active."""
    refuse_live_entities_on_accounts_not_onboarded(
        tenant=tenant,
        entities=[
            {**entry, "live": str(entry["state"].get("status", "active")) == "active"}
            for entry in cleaned
        ],
    )
