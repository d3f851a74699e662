"""The only writers of tickets, decisions and comments, split by job: `open`, `decide`,
`comment`, `cancel`, `override`, and what they share — `locks` (the lock order's first steps),
`resolve` (closing a ticket and calling its subject's owner), `waiting` (the "my queue" rows),
`errors`. A ticket that reaches a final status calls its subject's handler
(approvals/subjects.py) inside the transaction that closed it.

Each `ticket_<verb>` is a transaction of its own (`transaction.atomic(durable=True)`); its
`ticket_<verb>_within` twin does the same work as a step of the caller's transaction — what the
other apps' services call (config/transactions.py)."""

from approvals.services.cancel import ticket_cancel, ticket_cancel_within
from approvals.services.comment import ticket_comment_add, ticket_comment_add_within
from approvals.services.decide import ticket_decide, ticket_decide_within
from approvals.services.errors import TicketConflict, TicketError, TicketInvalid, TicketNotAllowed
from approvals.services.locks import subject_tickets_lock
from approvals.services.open import (
    PLAN_VERSION_MAX,
    PUBLIC_ID_ALPHABET,
    TicketRequest,
    ticket_open,
    ticket_open_within,
    ticket_sla_due_at,
)
from approvals.services.open_many import tickets_open_many_within
from approvals.services.override import ticket_override
from approvals.services.waiting import ticket_waiting_roles_rebuild

__all__ = [
    "PLAN_VERSION_MAX",
    "PUBLIC_ID_ALPHABET",
    "TicketConflict",
    "TicketError",
    "TicketInvalid",
    "TicketNotAllowed",
    "TicketRequest",
    "subject_tickets_lock",
    "ticket_cancel",
    "ticket_cancel_within",
    "ticket_comment_add",
    "ticket_comment_add_within",
    "ticket_decide",
    "ticket_decide_within",
    "ticket_open",
    "ticket_open_within",
    "ticket_override",
    "ticket_sla_due_at",
    "ticket_waiting_roles_rebuild",
    "tickets_open_many_within",
]
