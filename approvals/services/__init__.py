"""The only writers of tickets, decisions and comments, split by job: `open`, `decide`,
`comment`, `cancel`, `override`, and what they share — `locks` (the lock order's first steps),
`resolve` (closing a ticket and calling its subject's owner), `waiting` (the "my queue" rows),
`errors`. A ticket that reaches a final status calls its subject's handler
(approvals/subjects.py) inside the transaction that closed it."""

from approvals.services.cancel import ticket_cancel
from approvals.services.comment import ticket_comment_add
from approvals.services.decide import ticket_decide
from approvals.services.errors import TicketConflict, TicketError, TicketInvalid, TicketNotAllowed
from approvals.services.locks import subject_tickets_lock
from approvals.services.open import (
    PLAN_VERSION_MAX,
    ticket_open,
    ticket_sla_due_at,
)
from approvals.services.override import ticket_override
from approvals.services.waiting import ticket_waiting_roles_rebuild

__all__ = [
    "PLAN_VERSION_MAX",
    "TicketConflict",
    "TicketError",
    "TicketInvalid",
    "TicketNotAllowed",
    "subject_tickets_lock",
    "ticket_cancel",
    "ticket_comment_add",
    "ticket_decide",
    "ticket_open",
    "ticket_override",
    "ticket_sla_due_at",
    "ticket_waiting_roles_rebuild",
]
