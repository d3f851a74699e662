"""The A1–A9 table of seed 003 "Approval types" as code, and the pure decision rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals.models import Ticket, TicketDecision, Verdict
from approvals.rules import allowed_verdicts, decision_refusal
from approvals.types import (
    API_OPENABLE_TYPES,
    INTERNAL_ONLY_TYPES,
    RED_FLAG_TYPES,
    TICKET_TYPES,
    client_must_approve_budget,
    slot_for_role,
    slot_roles,
)

# The seed's table, row by row: type, name, who approves (as slots), what it blocks.
SEED_TABLE = [
    ("A1", "Media plan approval", ("planner",), "Execution"),
    ("A2", "Launch confirmation", ("operator/planner",), "First go-live"),
    ("A3", "Spend guardrail breach", ("operator",), "Budget change"),
    ("A4", "Access / BM / DNS", ("admin/client",), "Onboarding completion"),
    ("A5", "Plan revise / replan approval", ("planner",), "New plan version vN+1"),
    ("A6", "Manual override", ("admin",), "Reconciliation"),
    ("A7", "Compliance / policy", ("planner", "legal"), "Creative launch"),
    (
        "A8",
        "Agent loop exhausted",
        ("operator/admin",),
        "Same run_id auto-retry; downstream mutations on that task",
    ),
    (
        "A9",
        "Cost Guard tripped (≥3× estimate)",
        ("operator/admin",),
        "All LLM calls on run_id; downstream agent work",
    ),
]


@pytest.mark.parametrize(("type_id", "name", "roles", "blocks"), SEED_TABLE, ids=lambda v: str(v))
def test_each_type_matches_the_seed(type_id, name, roles, blocks):
    ticket_type = TICKET_TYPES[type_id]
    assert (ticket_type.name, ticket_type.required_roles, ticket_type.blocks) == (
        name,
        roles,
        blocks,
    )


def test_the_table_has_exactly_a1_to_a9():
    assert list(TICKET_TYPES) == [f"A{n}" for n in range(1, 10)]


def test_red_flags_are_a8_and_a9_and_internal_only():
    assert RED_FLAG_TYPES == ("A8", "A9")
    assert INTERNAL_ONLY_TYPES == ("A6", "A8", "A9")


@pytest.mark.parametrize(
    ("type_id", "red_flag", "loop_limit"),
    [("A8", True, True), ("A9", True, False), ("A5", False, False)],
)
def test_a_ticket_says_which_red_flag_it_is(type_id, red_flag, loop_limit):
    # The red-flag lane shows loop type and attempts for A8, estimated vs actual USD for A9.
    ticket = Ticket(type=type_id)
    assert (ticket.is_red_flag, ticket.is_loop_limit) == (red_flag, loop_limit)


@pytest.mark.parametrize(("verdict", "approval"), [(v, v == Verdict.APPROVE) for v in Verdict])
def test_a_decision_says_whether_it_approved(verdict, approval):
    assert TicketDecision(verdict=verdict).is_approval is approval


def test_agents_may_open_access_requests_and_compliance_flags():
    assert API_OPENABLE_TYPES == ("A4", "A7")


def test_legal_and_admin_hold_the_veto_on_compliance():
    assert TICKET_TYPES["A7"].veto_roles == ("legal", "admin")


@pytest.mark.parametrize(
    ("slot", "roles"),
    [("planner", ("planner",)), ("operator/admin", ("operator", "admin"))],
)
def test_a_slot_names_the_roles_that_fill_it(slot, roles):
    assert slot_roles(slot) == roles


def test_a_role_fills_the_first_open_slot_it_can():
    required = ["planner", "operator/planner"]
    assert slot_for_role(required, "planner", set()) == "planner"
    assert slot_for_role(required, "planner", {"planner"}) == "operator/planner"
    assert slot_for_role(required, "legal", set()) is None


@pytest.mark.parametrize(
    ("increase", "must", "threshold", "expected"),
    [
        pytest.param(Decimal("12"), True, Decimal("0"), True, id="increase-over-zero"),
        pytest.param(Decimal("0"), True, Decimal("0"), False, id="no-increase"),
        pytest.param(Decimal("-5"), True, Decimal("0"), False, id="a-cut"),
        pytest.param(Decimal("5"), True, Decimal("10"), False, id="under-threshold"),
        pytest.param(Decimal("10"), True, Decimal("10"), False, id="at-threshold"),
        pytest.param(Decimal("10.5"), True, Decimal("10"), True, id="over-threshold"),
        pytest.param(Decimal("50"), False, Decimal("0"), False, id="policy-off"),
        pytest.param(None, True, Decimal("0"), False, id="no-budget-change"),
    ],
)
def test_client_must_approve_a_budget_increase_over_the_threshold(
    increase, must, threshold, expected
):
    assert (
        client_must_approve_budget(
            increase_pct=increase, client_must_approve=must, threshold_pct=threshold
        )
        is expected
    )


@pytest.mark.parametrize(
    ("role", "verdict", "approved", "code"),
    [
        pytest.param("planner", "approve", set(), None, id="planner-approves"),
        pytest.param("planner", "approve", {"planner"}, "already_decided", id="planner-twice"),
        pytest.param("admin", "approve", set(), "not_allowed", id="admin-cannot-approve"),
        pytest.param("admin", "reject", {"planner"}, None, id="admin-vetoes"),
        pytest.param("legal", "request_changes", set(), None, id="legal-returns"),
        pytest.param("operator", "reject", set(), "not_allowed", id="operator-no-say"),
        pytest.param("client", "approve", set(), "not_allowed", id="client-not-shown"),
        pytest.param("planner", "maybe", set(), "invalid", id="unknown-verdict"),
    ],
)
def test_compliance_decision_rules(role, verdict, approved, code):
    refusal = decision_refusal(
        type_id="A7",
        required_roles=["planner", "legal"],
        client_visible=False,
        role=role,
        verdict=verdict,
        approved_slots=approved,
    )
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("role", "approved", "approved_by_user", "expected"),
    [
        pytest.param(
            "planner", set(), False, ["approve", "reject", "request_changes"], id="planner-fresh"
        ),
        pytest.param(
            "planner", {"planner"}, True, ["reject", "request_changes"], id="planner-approved"
        ),
        pytest.param("admin", set(), False, ["reject", "request_changes"], id="admin-veto-only"),
        pytest.param("operator", set(), False, [], id="operator-no-say"),
    ],
)
def test_the_buttons_shown_are_the_verdicts_the_rules_allow(
    role, approved, approved_by_user, expected
):
    assert (
        allowed_verdicts(
            type_id="A7",
            required_roles=["planner", "legal"],
            client_visible=False,
            role=role,
            approved_slots=approved,
            approved_by_user=approved_by_user,
        )
        == expected
    )


@pytest.mark.parametrize("type_id", ["A8", "A9"])
def test_a_red_flag_is_cleared_or_rejected_never_sent_back(type_id):
    from approvals.rules import allowed_verdicts, decision_refusal

    refusal = decision_refusal(
        type_id=type_id,
        required_roles=["operator/admin"],
        client_visible=False,
        role="operator",
        verdict="request_changes",
        approved_slots=set(),
    )
    assert refusal is not None and refusal.code == "not_allowed"
    assert allowed_verdicts(
        type_id=type_id,
        required_roles=["operator/admin"],
        client_visible=False,
        role="operator",
        approved_slots=set(),
        approved_by_user=False,
    ) == ["approve", "reject"]
