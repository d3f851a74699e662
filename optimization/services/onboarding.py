"""Onboarding (docs/rules.md "Onboarding (A4)"): the platform accounts a tenant's entities run
on, each requested → granted → ready.

- `platform_account_request` (POST /api/v1/platform-accounts): an agent asks for access; the
  account is recorded as requested and one A4 opens about it (the admin decides; the client too
  where the client owns the asset). The same request again answers the same account.
- The A4 approved → granted; rejected, sent back or withdrawn → refused.
- `platform_account_verify` (POST /api/v1/platform-accounts/{id}/verified): the agent reports
  the access works → ready.

Until an account is ready, no manifest entity naming it (`state.account`) is synced live
(optimization/services/sync_checks.py, 423 `account_not_onboarded`).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from approvals.models import TicketStatus
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError, NotFound
from config.text import text_problem
from optimization.models import AccountKind, OnboardingState, PlatformAccount
from tenants.models import Tenant

SUBJECT_TYPE = SubjectKind.PLATFORM_ACCOUNT


class AccountError(DomainError):
    code = "invalid_account"


def _text(value, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AccountError(f"{name}: a non-empty string.", fields={name: ["required"]})
    value = value.strip()
    problem = text_problem(value) or (
        f"at most {max_length} characters" if len(value) > max_length else None
    )
    if problem:
        raise AccountError(f"{name}: {problem}.", fields={name: [problem]})
    return value


def account_answer(account: PlatformAccount) -> dict:
    return {
        "id": account.pk,
        "platform": account.platform,
        "kind": account.kind,
        "external_id": account.external_id,
        "client_owned": account.client_owned,
        "state": account.state,
        "ticket": account.ticket or None,
    }


@transaction.atomic(durable=True)
def platform_account_request(
    *,
    tenant: Tenant,
    platform: str,
    kind: str,
    external_id: str,
    client_owned: bool,
    actor: Actor,
    agent: str = "",
) -> tuple[PlatformAccount, bool]:
    """Record the access request and open its A4; returns (account, created). The same account
    asked again (same kind and owner) is answered as it stands; otherwise 409."""
    # Long on purpose: the request's idempotent branches (new, asked again, asked otherwise) and
    # the A4 it opens, in one transaction under the account's lock.
    platform = _text(platform, "platform", 60).lower()
    external_id = _text(external_id, "external_id", 120)
    if kind not in AccountKind.values:
        raise AccountError(
            f"kind: one of {', '.join(AccountKind.values)}.",
            fields={"kind": [f"one of {', '.join(AccountKind.values)}"]},
        )
    existing = (
        PlatformAccount.objects.select_for_update()
        .filter(tenant=tenant, platform=platform, external_id=external_id)
        .first()
    )
    if existing is not None:
        if (existing.kind, existing.client_owned) != (kind, client_owned):
            raise Conflict(
                f"{existing.audit_id} was requested already as {existing.get_kind_display()}"
                f"{' owned by the client' if existing.client_owned else ''}.",
                code="conflict",
            )
        return existing, False
    account = PlatformAccount.objects.create(
        tenant=tenant,
        platform=platform,
        kind=kind,
        external_id=external_id,
        client_owned=client_owned,
        requested_by=str(actor)[:150],
    )
    who = "the client or an admin" if client_owned else "an admin"
    ticket = ticket_open_within(
        TicketRequest(
            tenant=tenant,
            actor=actor,
            type=TicketType.A4,
            title=f"Access to {account.get_kind_display()} {external_id} on {platform}"[:200],
            summary=(
                f"{agent or actor.label} needs access to {platform} {external_id} "
                f"({account.get_kind_display()}); {who} grants it. Nothing on this account goes "
                "live until the access is granted and verified."
            ),
            subject_type=SUBJECT_TYPE,
            subject_id=str(account.pk),
            platform=platform,
            requesting_agent=agent or actor.label,
            # The "admin/client" slot: the client fills it only on a ticket it can see.
            client_visible=client_owned,
            diff={
                "summary": [f"Grant access to {account.get_kind_display()} {external_id}."],
                "changes": [
                    {"field": f"{platform}.{kind}", "before": "no access", "after": external_id}
                ],
            },
        )
    )
    account.ticket = ticket.public_id
    account.save(update_fields=["ticket"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.PLATFORM_ACCOUNT_REQUESTED,
        resource=("platform_account", account.audit_id),
        data={**account_answer(account), "ticket": ticket.public_id},
    )
    return account, True


def account_of_ticket(ticket) -> PlatformAccount | None:
    if not str(ticket.subject_id).isdigit():
        return None
    return PlatformAccount.objects.filter(tenant_id=ticket.tenant_id, pk=ticket.subject_id).first()


def platform_account_lock(ticket) -> None:
    account = account_of_ticket(ticket)
    if account is not None:
        PlatformAccount.objects.select_for_update().filter(pk=account.pk).first()


def platform_account_decided_within(*, ticket, outcome: str, actor: Actor) -> None:
    """The A4's outcome: approved grants the access, anything else refuses it."""
    account = account_of_ticket(ticket)
    if account is None or account.state != OnboardingState.REQUESTED:
        return
    if outcome == TicketStatus.APPROVED:
        account.state, account.granted_at = OnboardingState.GRANTED, timezone.now()
        account.save(update_fields=["state", "granted_at"])
        action = AuditAction.PLATFORM_ACCOUNT_GRANTED
    else:
        account.state = OnboardingState.REFUSED
        account.save(update_fields=["state"])
        action = AuditAction.PLATFORM_ACCOUNT_REFUSED
    audit_event_append(
        tenant=ticket.tenant,
        actor=actor,
        action=action,
        resource=("platform_account", account.audit_id),
        data={"ticket": ticket.public_id, "state": account.state},
    )


@transaction.atomic(durable=True)
def platform_account_verify(*, tenant: Tenant, account_id: int, actor: Actor) -> PlatformAccount:
    """The agent reports the granted access works: the account is ready. Again → no change."""
    account = (
        PlatformAccount.objects.select_for_update().filter(tenant=tenant, pk=account_id).first()
        if 0 < account_id < 2**63
        else None
    )
    if account is None:
        raise NotFound(f"No platform account {account_id} for this key's tenant.")
    if account.state == OnboardingState.READY:
        return account
    if account.state != OnboardingState.GRANTED:
        raise Conflict(
            f"{account.audit_id} is {account.get_state_display().lower()}: access is verified "
            f"only once its A4 ({account.ticket}) is approved.",
            code="invalid_status",
        )
    account.state, account.ready_at = OnboardingState.READY, timezone.now()
    account.verified_by = str(actor)[:150]
    account.save(update_fields=["state", "ready_at", "verified_by"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.PLATFORM_ACCOUNT_READY,
        resource=("platform_account", account.audit_id),
        data={"ticket": account.ticket},
    )
    return account
