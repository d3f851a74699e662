"""The nine approval types of seed 003 "Approval types", in one table (pure, no database).

`required_roles` lists approval *slots*: every slot must be approved for the ticket to pass. A slot
is one role ("planner") or alternatives separated by "/" ("operator/admin": either fills it),
the way docs/rules.md reads the seed's "Required approver" column ("Operator / Planner" is either
of them, "Planner + legal flag" is both). A caller adds slots where the seed makes them
conditional: A5 with a budget increase over the tenant threshold adds "client", A3 may add
"client".

`veto_roles` may reject or request changes on an open ticket even when they fill no slot ("legal
and admin keep a veto on compliance", docs/rules.md). They never approve in place of a slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db.models import TextChoices

from tenants.models import Role

SLOT_SEPARATOR = "/"


class TicketType(StrEnum):
    """The id of each approval type; code names types through it, never as strings."""

    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    A4 = "A4"
    A5 = "A5"
    A6 = "A6"
    A7 = "A7"
    A8 = "A8"
    A9 = "A9"


@dataclass(frozen=True)
class TicketTypeSpec:
    id: TicketType
    name: str
    required_roles: tuple[str, ...]
    blocks: str
    internal_only: bool = False  # never shown to a client, whatever the caller asks
    client_visible: bool = False  # shown to the tenant's client users unless the caller says
    red_flag: bool = False
    veto_roles: tuple[str, ...] = ()
    api_openable: bool = False  # agents and services may open it through POST /api/v1/tickets

    @property
    def label(self) -> str:
        return f"{self.id} {self.name}"


TICKET_TYPES: dict[str, TicketTypeSpec] = {
    t.id: t
    for t in [
        TicketTypeSpec(TicketType.A1, "Media plan approval", ("planner",), "Execution"),
        TicketTypeSpec(
            TicketType.A2, "Launch confirmation", ("operator/planner",), "First go-live"
        ),
        TicketTypeSpec(TicketType.A3, "Spend guardrail breach", ("operator",), "Budget change"),
        TicketTypeSpec(
            TicketType.A4,
            "Access / BM / DNS",
            ("admin/client",),
            "Onboarding completion",
            api_openable=True,
        ),
        # A client may reject a proposed replan shown in the portal (seed 003 "Client-visible
        # approvals"), so the client is a veto role here — effective only on client-visible ones.
        TicketTypeSpec(
            TicketType.A5,
            "Plan revise / replan approval",
            ("planner",),
            "New plan version vN+1",
            veto_roles=("client",),
        ),
        TicketTypeSpec(
            TicketType.A6, "Manual override", ("admin",), "Reconciliation", internal_only=True
        ),
        TicketTypeSpec(
            TicketType.A7,
            "Compliance / policy",
            ("planner", "legal"),
            "Creative launch",
            veto_roles=("legal", "admin"),
            api_openable=True,
        ),
        TicketTypeSpec(
            TicketType.A8,
            "Agent loop exhausted",
            ("operator/admin",),
            "Same run_id auto-retry; downstream mutations on that task",
            internal_only=True,
            red_flag=True,
        ),
        TicketTypeSpec(
            TicketType.A9,
            "Cost Guard tripped (≥3× estimate)",
            ("operator/admin",),
            "All LLM calls on run_id; downstream agent work",
            internal_only=True,
            red_flag=True,
        ),
    ]
}

TYPE_CHOICES = [(t.id, t.label) for t in TICKET_TYPES.values()]


# --- What a ticket may be about, and who may put it there --------------------------------------
class Verdict(TextChoices):
    """What one person decides on a ticket (TicketDecision.verdict, ticket_decide's `verdict`)."""

    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class Opener(StrEnum):
    """Who opens a ticket on a subject."""

    SYSTEM = "system"  # the subject's own rules: a service of the app that owns the subject
    PERSON = "person"  # a person, through a page (an admin's manual override)
    AGENT = "agent"  # an agent or service, through POST /api/v1/tickets


class SubjectKind(StrEnum):
    """The kinds of thing a ticket can be about, each owned by one app (approvals/subjects.py)."""

    PLAN_VERSION = "plan_version"
    CHANGE_SET = "change_set"
    MANIFEST_LAUNCH = "manifest_launch"  # entities a manifest sync brought live for the first time
    RECOMMENDATION = "recommendation"
    AGENT_RUN = "agent_run"
    RECONCILIATION = "reconciliation"
    PLATFORM_ACCOUNT = "platform_account"
    TICKET = "ticket"
    TRACK = "track"  # a tenant's track, by its key (plans)
    MANIFEST_ENTRY = "manifest_entry"  # a live entity, as "platform:entity_id" (optimization)
    CREATIVE_THEME = "creative_theme"  # a track's new creative angle, by its id (optimization)


class SubjectUse(StrEnum):
    # Its outcome decides the subject (its owner's handler runs), and it blocks the subject
    # while it is open.
    GOVERNS = "governs"
    # Attached for information: shown with the subject, it decides and blocks nothing.
    INFORMS = "informs"


_G, _I = SubjectUse.GOVERNS, SubjectUse.INFORMS
# For each type, the subject kinds it may be about and, per opener, what it may do to them. A
# subject changes state only through the tickets its own rules opened (SYSTEM); an agent may
# attach a ticket to a subject for information, never for a decision. Anything not listed is
# refused (`subject_not_allowed`). A ticket about no subject decides nothing: the system may open
# any type so, an agent only the types it may open at all (`api_openable`).
SUBJECT_RULES: dict[TicketType, dict[SubjectKind, dict[Opener, SubjectUse]]] = {
    TicketType.A1: {SubjectKind.PLAN_VERSION: {Opener.SYSTEM: _G}},
    TicketType.A2: {
        SubjectKind.CHANGE_SET: {Opener.SYSTEM: _G},
        SubjectKind.MANIFEST_LAUNCH: {Opener.SYSTEM: _G},
    },
    TicketType.A3: {SubjectKind.CHANGE_SET: {Opener.SYSTEM: _G}},
    # An agent's access request (POST /api/v1/platform-accounts) opens one about the account:
    # approving it grants the access (onboarding, optimization/services/onboarding.py).
    TicketType.A4: {SubjectKind.PLATFORM_ACCOUNT: {Opener.SYSTEM: _G}},
    TicketType.A5: {
        SubjectKind.PLAN_VERSION: {Opener.SYSTEM: _G},
        SubjectKind.RECOMMENDATION: {Opener.SYSTEM: _G},
    },
    # `reconcile` opens one per entity whose platform differs from the manifest: approving it
    # accepts the platform's value, rejecting it restores the manifest's. The record of an admin's
    # manual override names the ticket it pushed through; the override itself resolves that
    # ticket (approvals.services.ticket_override).
    TicketType.A6: {
        SubjectKind.RECONCILIATION: {Opener.SYSTEM: _G},
        SubjectKind.TICKET: {Opener.PERSON: _I},
    },
    # An A7 on a track or an entity decides nothing about it, but while it is open no creative
    # launches or rotates there (approvals.selectors.compliance_review_open).
    TicketType.A7: {
        SubjectKind.PLAN_VERSION: {Opener.SYSTEM: _G, Opener.AGENT: _I},
        SubjectKind.CHANGE_SET: {Opener.SYSTEM: _G, Opener.AGENT: _I},
        SubjectKind.AGENT_RUN: {Opener.AGENT: _I},
        SubjectKind.TRACK: {Opener.AGENT: _I, Opener.PERSON: _I},
        SubjectKind.MANIFEST_ENTRY: {Opener.AGENT: _I, Opener.PERSON: _I},
        SubjectKind.CREATIVE_THEME: {Opener.SYSTEM: _G},
    },
    TicketType.A8: {SubjectKind.AGENT_RUN: {Opener.SYSTEM: _G}},
    TicketType.A9: {SubjectKind.AGENT_RUN: {Opener.SYSTEM: _G}},
}


def subject_use(type_id: str, subject_type: str, opener: Opener) -> SubjectUse | None:
    """What a ticket of `type_id` opened by `opener` may do to a subject of `subject_type`:
    govern it, inform about it, or nothing (None: refused). No subject: INFORMS (it decides
    nothing) for the system, and for an agent on the types it may open."""
    if not subject_type:
        allowed = opener == Opener.SYSTEM or (
            opener == Opener.AGENT and TICKET_TYPES[type_id].api_openable
        )
        return SubjectUse.INFORMS if allowed else None
    kinds = SUBJECT_RULES.get(TicketType(type_id), {})
    return kinds.get(subject_type, {}).get(opener)


def governed_subject_kinds() -> set[str]:
    """Every subject kind some ticket type governs: each needs its owner's handler."""
    return {
        kind
        for kinds in SUBJECT_RULES.values()
        for kind, openers in kinds.items()
        if SubjectUse.GOVERNS in openers.values()
    }


RED_FLAG_TYPES = tuple(t.id for t in TICKET_TYPES.values() if t.red_flag)
INTERNAL_ONLY_TYPES = tuple(t.id for t in TICKET_TYPES.values() if t.internal_only)
API_OPENABLE_TYPES = tuple(t.id for t in TICKET_TYPES.values() if t.api_openable)


def slot_roles(slot: str, *, client_visible: bool = True) -> tuple[str, ...]:
    """The roles that may fill one approval slot: "operator/admin" -> ("operator", "admin").

    On a ticket the client can't see (`client_visible=False`), the client fills nothing: an
    internal A4's "admin/client" slot is the admin's alone, so it never waits for the client."""
    roles = tuple(role for role in slot.split(SLOT_SEPARATOR) if role)
    if not client_visible:
        roles = tuple(role for role in roles if role != Role.CLIENT)
    return roles


def slot_label(slot: str, *, client_visible: bool = True) -> str:
    return " or ".join(slot_roles(slot, client_visible=client_visible))


def is_valid_slot(slot: str) -> bool:
    roles = slot_roles(slot)
    return bool(roles) and all(role in Role.values for role in roles)


def open_slots(required_roles: list[str] | tuple[str, ...], approved_slots: set[str]) -> list[str]:
    return [slot for slot in required_roles if slot not in approved_slots]


def slot_for_role(
    required_roles: list[str] | tuple[str, ...],
    role: str,
    approved_slots: set[str],
    *,
    client_visible: bool = True,
) -> str | None:
    """The first slot `role` may still fill, or None."""
    for slot in open_slots(required_roles, approved_slots):
        if role in slot_roles(slot, client_visible=client_visible):
            return slot
    return None


def roles_that_may_approve(
    required_roles: list[str] | tuple[str, ...], *, client_visible: bool = True
) -> set[str]:
    return {
        role for slot in required_roles for role in slot_roles(slot, client_visible=client_visible)
    }


def client_must_approve_budget(
    *, increase_pct: Decimal | None, client_must_approve: bool, threshold_pct: Decimal
) -> bool:
    """Seed 003 `client_must_approve_budget_increase` with the tenant's threshold (docs/rules.md):
    a budget increase strictly above `threshold_pct` percent needs the client too."""
    return bool(client_must_approve and increase_pct is not None and increase_pct > threshold_pct)
