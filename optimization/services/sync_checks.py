"""What refuses an automated change to an entity before anything is written, kept apart from the
manifest sync and the change-set submit that call it (each calls one function here):

- an open reconciliation (A6) on the entity → 423 `reconciliation_pending`, naming the ticket
  (optimization/services/reconcile.py);
- an entity going live on a platform account (`state.account`) that is not onboarded yet →
  423 `account_not_onboarded` (optimization/services/onboarding.py); an account the tenant never
  requested → 422 `unknown_account`;
- a sync moving the daily budget of an entity that has been live → 422 `budget_needs_change_set`:
  a budget moves only through a change set and its guardrails (`refuse_sync_budget_moves`);
- a sync moving an entity that has been live to another channel, or changing its `state.objective`
  or `state.geo` → 422 `structural_needs_replan`: what a change set blocks as structural a sync
  doesn't write either (`refuse_sync_structural_moves`);
- a sync sending an entity of a track on hold live → 423 `track_on_hold`: only the resume
  brings the held track's entities back (`refuse_sync_going_live_on_hold`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import QuerySet

from config.errors import Blocked, DomainError
from config.formatting import money
from optimization.models import (
    STRUCTURAL_FIELDS,
    ExecutionManifestEntry,
    PlatformAccount,
    Reconciliation,
    ReconciliationStatus,
)
from optimization.selectors import active_hold, entry_is_live

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


def _sent_budget(state: dict) -> Decimal | None:
    raw = state.get("daily_budget")
    try:
        return None if raw is None else Decimal(str(raw))
    except ArithmeticError:  # a value stored before amounts were checked: compared as sent
        return raw


def _has_been_live(row: ExecutionManifestEntry) -> bool:
    return row.first_active_at is not None or entry_is_live(row.state)


def refuse_sync_budget_moves(*, rows: dict, cleaned: list[dict], created: Iterable[str]) -> None:
    """A sync registers entities and re-points or describes them; the daily budget of an entity
    that has been live (live now, or paused after it was) moves only through a change set, whose
    guardrails (A3 beyond the tenant's bounds) and drift see the move. An entry that changes it —
    or leaves it out — refuses the whole sync (cleaned by manifest.py: amounts as money text)."""
    new = set(created)
    for index, entry in enumerate(cleaned):
        row = rows[(entry["platform"], entry["entity_id"])]
        if row.audit_id in new or not _has_been_live(row):
            continue
        live, sent = _sent_budget(row.state or {}), _sent_budget(entry["state"])
        if live == sent:
            continue
        where = f"entries[{index}].state.daily_budget"
        currency = row.track.currency if row.track_id else ""
        now = "no daily budget" if live is None else f"{money(live, currency)} a day"
        raise DomainError(
            f"{row.audit_id} has been live: a manifest sync does not move its daily budget "
            f"(live now: {now}; sent: {'nothing' if sent is None else money(sent, currency)}). "
            "Send a change set (POST /api/v1/change-sets, field daily_budget, before "
            f"{'null' if live is None else live}) so the guardrails check the move; "
            "nothing was synced.",
            code="budget_needs_change_set",
            fields={where: ["a live entity's daily budget moves only through a change set"]},
        )


def _structural_moves(row: ExecutionManifestEntry, entry: dict) -> list[tuple[str, object, object]]:
    """(path in the entry, live value, sent value) of each structural field the entry changes:
    the channel (a column), the objective and geo (as the manifest state keeps them)."""
    moves = []
    for name in STRUCTURAL_FIELDS:
        if name == "channel":
            live, sent, where = row.channel, entry["channel"], "channel"
        else:
            live, sent = (row.state or {}).get(name), entry["state"].get(name)
            where = f"state.{name}"
        if live != sent:
            moves.append((where, live, sent))
    return moves


def _said(value: object) -> str:
    return "nothing" if value is None else repr(value)


def refuse_sync_structural_moves(
    *, track, rows: dict, cleaned: list[dict], created: Iterable[str]
) -> None:
    """A change set changing a channel, objective or geo is blocked (guardrails.py: structural,
    it needs a replan); a sync doesn't do it either to an entity that has been live — moving its
    spend to another channel escapes both the replan and the channel's drift. The entity keeps
    them; a replan brings the new channel (a new entity). Refuses the whole sync."""
    new = set(created)
    for index, entry in enumerate(cleaned):
        row = rows[(entry["platform"], entry["entity_id"])]
        if row.audit_id in new or not _has_been_live(row):
            continue
        moves = _structural_moves(row, entry)
        if not moves:
            continue
        said = "; ".join(f"{where} {_said(live)} → {_said(sent)}" for where, live, sent in moves)
        raise DomainError(
            f"{row.audit_id} has been live: a manifest sync does not change its "
            f"{' or '.join(where.removeprefix('state.') for where, _l, _s in moves)} ({said}). "
            "That is structural, never an optimization: a change set is blocked too. File a "
            f"replan (POST /api/v1/tracks/{track.key}/drafts, kind replan) and, once approved, "
            "launch the new entity and pause this one with a change set; send this entity as "
            "it is live. Nothing was synced.",
            code="structural_needs_replan",
            fields={
                f"entries[{index}].{where}": ["structural: a live entity keeps it; replan"]
                for where, _l, _s in moves
            },
        )


def refuse_sync_going_live_on_hold(
    *, track, rows: dict, cleaned: list[dict], created: Iterable[str]
) -> None:
    """Holds hold: while all spend on the track is paused, a sync that has one of its entities
    `active` where the manifest does not (a held one, a new one, one moved from another track)
    is refused; a sync that leaves every status as it is (describing a held entity) goes
    through. `rows` are locked by the caller."""
    new = set(created)
    going_live = []
    for entry in cleaned:
        row = rows[(entry["platform"], entry["entity_id"])]
        if entry_is_live(entry["state"]) and (
            row.audit_id in new or row.track_id != track.pk or not entry_is_live(row.state or {})
        ):
            going_live.append(row.audit_id)
    if going_live and active_hold(track=track) is not None:
        raise Blocked(
            f"{track.key} is on an optimization hold (all spend paused): a sync can't bring "
            f"{', '.join(going_live)} live; only resuming spend does. Nothing was synced.",
            code="track_on_hold",
        )
