"""The product's lock order — read this before writing a service that locks more than one row.

Every transaction that locks rows of more than one kind takes them in this order, and only in
this order (docs/rules.md "Lock order"):

    1. tickets        — every open ticket about the same subject, by primary key
    2. the subject    — the plan version, change set or agent run a ticket is about
    3. the track      — (and a version's parent after it)
    4. the master plan
    5. the audit chain head — taken by the first `audit_event_append` of the transaction

Two transactions that both follow it can only wait for each other, never deadlock. In practice:

- Lock everything first, then write. The audit chain head comes last, so the first audit event
  of a transaction is appended only after every other row it will touch is locked.
- A ticket decision locks the ticket (and its siblings: the other open tickets about the same
  subject), then asks the subject's owner to lock the subject (approvals/subjects.py
  `TicketSubject.lock`) before it writes or audits anything; the subject's handler may then lock the
  track and the master plan.
- A subject's own transition (withdraw, reject, request changes from the plan pages) locks the
  subject's open tickets before the subject itself (`approvals.services.subject_tickets_lock`).
- Counters that hand out numbers (plan version numbers) are claimed before anything else is
  locked and before the audit chain head.
- Lock only the rows the order names. A `select_for_update()` that joins (`select_related`)
  locks the joined rows too — take `select_for_update(of=("self",))`. A tenant row locked FOR
  UPDATE that way is a deadlock waiting to happen: every row inserted with a foreign key to the
  tenant (change sets, audit events, …) takes FOR KEY SHARE on it when its deferred constraint
  is checked at commit, so a rollback holding a channel waited at COMMIT for a ticket decision
  that waited for the channel (tests/optimization/test_lock_order.py; tests/test_lock_rules.py
  keeps every such query to `of`).

Should a deadlock or serialization failure still happen (a path this order missed, or the
database's own choice), the request gets a 409 "try again" and nothing is written: `is_retryable`
recognises those errors for the page middleware and the API's handler.

Imports no app of the project.
"""

from __future__ import annotations

from django.db import DatabaseError

# PostgreSQL SQLSTATEs after which the whole transaction can simply be tried again.
RETRYABLE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (a lock_timeout ran out)
    }
)


def is_retryable(error: BaseException) -> bool:
    """A database error that a second attempt of the same request would not meet."""
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    # SQLite: the busy timeout ran out while another writer held the database.
    return "database is locked" in str(error)
