"""How decisions read (approvals/explain.py, no database): every approval slot says what became
of it, a decision that withdraws other tickets says so first, and the message afterwards says
what happened."""

from __future__ import annotations

import pytest

from approvals.explain import (
    Decision,
    Withdrawn,
    decision_message,
    slot_states,
    waiting_phrase,
    withdraw_warning,
)


def states(type_id, required, status, decisions, *, client_visible=False, override_id=""):
    return [
        (s.label, s.word, s.who)
        for s in slot_states(
            type_id=type_id,
            required_roles=required,
            client_visible=client_visible,
            status=status,
            decisions=[Decision(*d) for d in decisions],
            override_id=override_id,
        )
    ]


def test_an_open_ticket_shows_who_approved_and_who_it_waits_for():
    assert states(
        "A7", ["planner", "legal"], "open", [("planner", "planner", "approve", "pia")]
    ) == [
        ("planner", "approved", "by pia as planner"),
        ("legal", "waiting", ""),
    ]


def test_a_rejection_shows_in_the_slot_of_the_role_that_gave_it():
    assert states(
        "A7",
        ["planner", "legal"],
        "rejected",
        [("planner", "planner", "approve", "pia"), ("legal", "", "reject", "lea")],
    ) == [("planner", "approved", "by pia as planner"), ("legal", "rejected", "by lea as legal")]


def test_a_person_named_after_their_role_is_named_once():
    """The demo's legal user is called "legal": "rejected by legal", never "by legal as legal"."""
    assert states(
        "A7",
        ["planner", "legal"],
        "rejected",
        [("planner", "planner", "approve", "planner"), ("legal", "", "reject", "legal")],
    ) == [("planner", "approved", "by planner"), ("legal", "rejected", "by legal")]
    assert states("A7", ["planner", "legal"], "rejected", [("admin", "", "reject", "admin")]) == [
        ("planner", "vetoed by admin", ""),
        ("legal", "vetoed by admin", ""),
    ]


def test_a_veto_role_that_fills_no_slot_vetoes_every_open_slot():
    assert states("A7", ["planner", "legal"], "rejected", [("admin", "", "reject", "ada")]) == [
        ("planner", "vetoed by admin", "by ada"),
        ("legal", "vetoed by admin", "by ada"),
    ]


def test_a_client_rejecting_a_replan_it_does_not_approve_is_a_veto():
    assert states(
        "A5", ["planner"], "rejected", [("client", "", "reject", "carol")], client_visible=True
    ) == [("planner", "vetoed by client", "by carol")]


def test_a_request_for_changes_shows_in_its_slot_and_the_others_are_not_needed():
    assert states(
        "A5",
        ["planner", "client"],
        "changes_requested",
        [("planner", "", "request_changes", "pia")],
        client_visible=True,
    ) == [
        ("planner", "changes requested", "by pia as planner"),
        ("client", "not needed", "changes requested by pia as planner"),
    ]


def test_withdrawn_and_overridden_tickets_say_so_in_their_open_slots():
    assert states("A7", ["planner", "legal"], "cancelled", []) == [
        ("planner", "withdrawn", ""),
        ("legal", "withdrawn", ""),
    ]
    assert states("A3", ["operator"], "approved", [], override_id="A6-OVR12345") == [
        ("operator", "overridden by A6-OVR12345", "")
    ]


@pytest.mark.parametrize("status", ["open", "approved", "rejected", "cancelled"])
def test_no_slot_is_ever_left_without_words(status):
    for _label, word, _who in states("A1", ["planner"], status, []):
        assert word and word != "—"


def test_an_internal_a4_slot_is_the_admins_alone():
    assert states("A4", ["admin/client"], "open", []) == [("admin", "waiting", "")]
    assert states("A4", ["admin/client"], "open", [], client_visible=True) == [
        ("admin or client", "waiting", "")
    ]


def test_the_warning_names_each_ticket_withdrawn_with_whom_it_waits_for():
    legal = Withdrawn("A7-9NNMH3VF", ("legal",), "Compliance / policy")
    both = Withdrawn("A7-2222", ("planner", "legal"), "Compliance / policy")

    assert withdraw_warning([legal]) == "This also withdraws A7-9NNMH3VF (legal's review)."
    assert (
        withdraw_warning([legal], verdicts=["reject", "request_changes"])
        == "Rejecting or requesting changes also withdraws A7-9NNMH3VF (legal's review)."
    )
    assert both.description == ("A7-2222 (compliance / policy, waiting for the planner and legal)")
    assert withdraw_warning([]) == ""


def test_waiting_phrase_reads_as_people_say_it():
    assert waiting_phrase(["planner"]) == "the planner"
    assert waiting_phrase(["planner", "legal"]) == "the planner and legal"
    assert waiting_phrase(["operator or admin"]) == "the operator or admin"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"verdict": "approve", "role": "legal", "status": "open", "waiting_for": ["planner"]},
            "You approved A7-H1WD as legal; it now waits for the planner.",
            id="partial-approval",
        ),
        pytest.param(
            {
                "verdict": "approve",
                "role": "planner",
                "status": "approved",
                "outcome": "v7 is now the current version of always_on",
            },
            "You approved A7-H1WD as planner: it is approved, and "
            "v7 is now the current version of always_on.",
            id="last-approval",
        ),
        pytest.param(
            {
                "verdict": "request_changes",
                "role": "planner",
                "status": "changes_requested",
                "outcome": "v6 is back in draft",
                "withdrawn": [Withdrawn("A7-9NNM", ("legal",), "Compliance / policy")],
            },
            "You requested changes on A7-H1WD as planner: v6 is back in draft. "
            "A7-9NNM (legal's review) was withdrawn with it.",
            id="request-changes-withdraws",
        ),
        pytest.param(
            {"verdict": "reject", "role": "legal", "status": "rejected"},
            "You rejected A7-H1WD as legal.",
            id="reject",
        ),
    ],
)
def test_the_message_after_a_decision_says_what_happened(kwargs, message):
    assert decision_message(public_id="A7-H1WD", type_id="A7", **kwargs) == message
    assert "is now Open" not in decision_message(public_id="A7-H1WD", type_id="A7", **kwargs)


def test_clearing_a_red_flag_reads_cleared():
    assert (
        decision_message(
            public_id="A8-LOOP", type_id="A8", verdict="approve", role="operator", status="approved"
        )
        == "You cleared A8-LOOP as operator: it is cleared."
    )


def test_a_cleared_red_flags_slot_reads_cleared():
    assert states(
        "A8", ["operator/admin"], "approved", [("operator", "operator/admin", "approve", "olga")]
    ) == [("operator or admin", "cleared", "by olga as operator")]
