"""How a ticket's decisions read (pure, no database): the state of each approval slot, the
warning before a decision that withdraws other tickets, and the message after a decision.

A ticket page must never leave a person guessing: a slot nobody approved says why ("rejected",
"vetoed by legal", "withdrawn", "overridden by A6-…"), a button that also withdraws a colleague's
ticket says so before it is pressed, and the message afterwards says what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from approvals.types import TICKET_TYPES, Verdict, slot_label, slot_roles

OPEN = "open"
APPROVED = "approved"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Decision:
    """What explain needs of a TicketDecision."""

    role: str
    slot: str
    verdict: str
    username: str


@dataclass(frozen=True)
class SlotState:
    label: str  # "planner", "operator or admin"
    word: str  # "approved", "waiting", "rejected", "vetoed by legal", "withdrawn", ...
    tone: str  # ok | waiting | danger | warn | muted: the label's colour, beside the word
    who: str = ""  # "by alice as planner"


@dataclass(frozen=True)
class Withdrawn:
    """Another open ticket of the same subject that a decision withdraws (or withdrew)."""

    public_id: str
    waiting_for: tuple[str, ...]  # its open slots, in words ("legal")
    type_name: str

    @property
    def description(self) -> str:
        """ "A7-9NNMH3VF (legal's review)"; waiting for several roles, "A7-9NNMH3VF (compliance /
        policy, waiting for the planner and legal)"."""
        if len(self.waiting_for) == 1:
            return f"{self.public_id} ({self.waiting_for[0]}'s review)"
        if self.waiting_for:
            return (
                f"{self.public_id} ({self.type_name.lower()}, waiting for "
                f"{waiting_phrase(self.waiting_for)})"
            )
        return f"{self.public_id} ({self.type_name.lower()})"


def _who(decision: Decision) -> str:
    # The demo's people are named after their roles: "by legal", never "by legal as legal".
    if decision.username == decision.role:
        return f"by {decision.username}"
    return f"by {decision.username} as {decision.role}"


def _ending_word(decision: Decision) -> str:
    return "rejected" if decision.verdict == Verdict.REJECT else "changes requested"


def slot_states(
    *,
    type_id: str,
    required_roles: Sequence[str],
    client_visible: bool,
    status: str,
    decisions: Iterable[Decision],
    override_id: str = "",
) -> list[SlotState]:
    """Each approval slot with what became of it.

    An approved slot names who approved it; on an open ticket the others wait. A rejection or a
    request for changes ends the ticket: it shows in the slot of the role that gave it; given by
    a role that fills no slot (legal or admin on a compliance ticket, the client on a replan) it
    is a veto, and every slot nobody approved reads "vetoed by legal". A withdrawn ticket's open
    slots read "withdrawn", an overridden one's "overridden by A6-…".
    """
    # Long on purpose: one pass over the slots with the cases the page must tell apart (approved,
    # waiting, rejected by a slot's role, by a vetoing role, withdrawn).
    decisions = list(decisions)
    approvals = {d.slot: d for d in decisions if d.verdict == Verdict.APPROVE}
    ending = next((d for d in reversed(decisions) if d.verdict != Verdict.APPROVE), None)
    veto = ending is not None and not any(
        ending.role in slot_roles(slot, client_visible=client_visible) for slot in required_roles
    )
    ending_slot = None
    if ending is not None and not veto:
        ending_slot = next(
            (
                slot
                for slot in required_roles
                if slot not in approvals
                and ending.role in slot_roles(slot, client_visible=client_visible)
            ),
            None,
        )
    # Approving a red flag is clearing it (the run may go on): the slot says so, as the button did.
    approved_word = "cleared" if TICKET_TYPES[type_id].red_flag else "approved"
    states = []
    for slot in required_roles:
        label = slot_label(slot, client_visible=client_visible)
        approval = approvals.get(slot)
        if approval is not None:
            states.append(SlotState(label, approved_word, "ok", _who(approval)))
        elif status == OPEN:
            states.append(SlotState(label, "waiting", "waiting"))
        elif ending is not None and veto:
            verb = "vetoed" if ending.verdict == Verdict.REJECT else "changes requested"
            states.append(
                SlotState(
                    label,
                    f"{verb} by {ending.role}",
                    "danger",
                    "" if ending.username == ending.role else f"by {ending.username}",
                )
            )
        elif ending is not None and slot == ending_slot:
            tone = "danger" if ending.verdict == Verdict.REJECT else "warn"
            states.append(SlotState(label, _ending_word(ending), tone, _who(ending)))
        elif ending is not None:
            states.append(
                SlotState(
                    label, "not needed", "muted", f"{_ending_word(ending)} {_who(ending)}".strip()
                )
            )
        elif status == CANCELLED:
            states.append(SlotState(label, "withdrawn", "muted"))
        elif status == APPROVED and override_id:
            states.append(SlotState(label, f"overridden by {override_id}", "warn"))
        else:
            states.append(SlotState(label, "not needed", "muted"))
    return states


def ends_for_everyone(verdict: str) -> bool:
    """Reject and request changes close the ticket for every role, not only the one who acts."""
    return verdict in (Verdict.REJECT, Verdict.REQUEST_CHANGES)


VERDICT_GERUNDS = {Verdict.REJECT: "rejecting", Verdict.REQUEST_CHANGES: "requesting changes"}


def withdraw_warning(withdrawn: Sequence[Withdrawn], *, verdicts: Sequence[str] = ()) -> str:
    """Said before the button is pressed: "This also withdraws A7-9NNMH3VF (legal's review)."
    — or, beside several buttons, "Rejecting or requesting changes also withdraws …"."""
    if not withdrawn:
        return ""
    gerunds = [VERDICT_GERUNDS[v] for v in verdicts if v in VERDICT_GERUNDS]
    who = " or ".join(gerunds) if gerunds else "this"
    return (
        f"{who[0].upper()}{who[1:]} also withdraws {_and_list(w.description for w in withdrawn)}."
    )


# Roles named like a department, without an article: "waits for legal", not "for the legal".
NO_ARTICLE = ("legal",)


def waiting_phrase(labels: Sequence[str]) -> str:
    """ "the planner", "the planner and legal", "the operator or admin"."""
    return _and_list(label if label.startswith(NO_ARTICLE) else f"the {label}" for label in labels)


def _and_list(parts: Iterable[str]) -> str:
    parts = list(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def decision_message(
    *,
    public_id: str,
    type_id: str,
    verdict: str,
    role: str,
    status: str,
    waiting_for: Sequence[str] = (),
    withdrawn: Sequence[Withdrawn] = (),
    outcome: str = "",
) -> str:
    """What a decision did, in a sentence or two: "You approved A7-H1WD as legal; it now waits
    for the planner." — never a bare status. `outcome` is where the subject now stands, as its
    owner says it ("v7 is now the current version of always_on"), when it says."""
    red_flag = TICKET_TYPES[type_id].red_flag
    outcome = outcome.rstrip(".")
    if verdict == Verdict.APPROVE:
        done = f"You {'cleared' if red_flag else 'approved'} {public_id} as {role}"
        if status == OPEN and waiting_for:
            sentence = f"{done}; it now waits for {waiting_phrase(waiting_for)}"
        elif status == APPROVED:
            sentence = f"{done}: it is {'cleared' if red_flag else 'approved'}"
            sentence += f", and {outcome}" if outcome else ""
        else:
            sentence = f"{done}: {outcome}" if outcome else done
    else:
        done = (
            f"You rejected {public_id} as {role}"
            if verdict == Verdict.REJECT
            else f"You requested changes on {public_id} as {role}"
        )
        sentence = f"{done}: {outcome}" if outcome else done
    sentence += "."
    if withdrawn:
        descriptions = _and_list(w.description for w in withdrawn)
        verb = "was" if len(withdrawn) == 1 else "were"
        sentence += f" {descriptions} {verb} withdrawn with it."
    return sentence
