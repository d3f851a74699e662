"""Who may do what to a ticket (pure: no database). ticket_decide enforces it; pages ask it which
buttons to show, so the two can never disagree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from approvals.types import (
    TICKET_TYPES,
    Verdict,
    roles_that_may_approve,
    slot_for_role,
    slot_label,
)
from tenants.models import Role


@dataclass(frozen=True)
class Refusal:
    code: str  # invalid | not_allowed | already_decided | own_work
    message: str


def decision_refusal(
    *,
    type_id: str,
    required_roles: Iterable[str],
    client_visible: bool,
    role: str,
    verdict: str,
    approved_slots: set[str],
    own_work_reason: str = "",
) -> Refusal | None:
    """Why a person holding `role` may not give `verdict` on an open ticket; None if they may.

    Slots already approved are in `approved_slots`. A role that fills a slot may approve it (once),
    reject it or ask for changes; a veto role may only reject or ask for changes; a client acts
    only on a client-visible ticket. Four eyes: `own_work_reason` says why the ticket is the
    person's own work ("you drafted v6"), or is "" when it is not; then they fill no approval
    slot of it.
    """
    required = list(required_roles)
    ticket_type = TICKET_TYPES[type_id]
    if verdict not in Verdict.values:
        return Refusal(
            "invalid", f"Unknown verdict {verdict!r}; use approve, reject or request_changes."
        )
    if role == Role.CLIENT and not client_visible:
        return Refusal("not_allowed", "Clients may only act on tickets shown to them.")
    if ticket_type.red_flag and verdict == Verdict.REQUEST_CHANGES:
        # A red flag is cleared (the run goes on) or rejected (the run ends): there is no draft
        # to send back.
        return Refusal(
            "not_allowed", f"{ticket_type.label} is cleared or rejected; changes can't be asked."
        )
    needs = (
        " and ".join(slot_label(slot, client_visible=client_visible) for slot in required)
        or "nobody"
    )
    fills_a_slot = role in roles_that_may_approve(required, client_visible=client_visible)
    if verdict == Verdict.APPROVE:
        slot = slot_for_role(required, role, approved_slots, client_visible=client_visible)
        if slot is not None and own_work_reason:
            return Refusal("own_work", own_work_refusal(own_work_reason, role))
        if slot is not None:
            return None
        if fills_a_slot:
            return Refusal("already_decided", f"The {role} approval is already given.")
        return Refusal(
            "not_allowed", f"A {role} can't approve {ticket_type.label}; it needs {needs}."
        )
    if fills_a_slot or role in ticket_type.veto_roles:
        return None
    return Refusal(
        "not_allowed",
        f"A {role} can't {verdict.replace('_', ' ')} on {ticket_type.label}; it needs {needs}.",
    )


def own_work_refusal(own_work_reason: str, role: str) -> str:
    """Why a person may not approve their own work: "You drafted v6; another planner must
    approve." """
    return f"{own_work_reason[0].upper()}{own_work_reason[1:]}; another {role} must approve."


def allowed_verdicts(
    *,
    type_id: str,
    required_roles: Iterable[str],
    client_visible: bool,
    role: str,
    approved_slots: set[str],
    approved_by_user: bool,
    own_work_reason: str = "",
) -> list[str]:
    """The verdicts a person holding `role` may give now (for showing buttons): those
    decision_refusal lets through, less a second approval by someone who already approved."""
    return [
        verdict
        for verdict in Verdict.values
        if not (verdict == Verdict.APPROVE and approved_by_user)
        and decision_refusal(
            type_id=type_id,
            required_roles=required_roles,
            client_visible=client_visible,
            role=role,
            verdict=verdict,
            approved_slots=approved_slots,
            own_work_reason=own_work_reason,
        )
        is None
    ]
