"""Reservations (docs/rules.md "Agent runs"): they close the Cost Guard's known gap — spend is
reported after a call, so concurrent calls could overshoot the line. An llm_call that states
its expected cost adds it to the run's open reservations at the gate (gate.py); the spend report
settles it (spend.py); an unsettled reservation lapses after 15 minutes; a report of 0 or an
explicit release frees it early. A reservation row is locked before its run (config/locks.py)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from agents.models import AgentRun, Reservation, ReservationStatus
from agents.services.runs import RUN_TABLE
from config.errors import NotFound
from config.transactions import within_transaction

RESERVATION_MINUTES = 15
RESERVATION_TABLE = Reservation._meta.db_table


PG_LAPSE_SQL = (
    f"WITH lapsed AS (UPDATE {RESERVATION_TABLE} SET status = 'lapsed', closed_at = %(now)s "
    f"WHERE run_id = (SELECT id FROM {RUN_TABLE} "
    f"WHERE tenant_id = %(tenant)s AND run_id = %(run_id)s) "
    f"AND status = 'open' AND expires_at <= %(now)s RETURNING run_id, amount_usd) "
    f"UPDATE {RUN_TABLE} SET reserved_usd = GREATEST({RUN_TABLE}.reserved_usd - "
    f"(SELECT SUM(amount_usd) FROM lapsed), 0) WHERE id IN (SELECT run_id FROM lapsed)"
)
_LAPSE_SQL = (
    f"UPDATE {RESERVATION_TABLE} SET status = 'lapsed', closed_at = %(now)s "
    f"WHERE run_id = (SELECT id FROM {RUN_TABLE} "
    f"WHERE tenant_id = %(tenant)s AND run_id = %(run_id)s) "
    f"AND status = 'open' AND expires_at <= %(now)s RETURNING run_id, amount_usd"
)


@within_transaction
def reservations_lapse(params: dict) -> None:
    """Expired reservations stop holding money: lapse them and give their amount back to the
    run (reservation rows first, then the run: the lock order of every spend path)."""
    with connection.cursor() as cursor:
        cursor.execute(_LAPSE_SQL, params)
        lapsed = cursor.fetchall()
    if lapsed:
        total = sum((Decimal(str(amount)) for _run, amount in lapsed), Decimal("0"))
        AgentRun.objects.filter(pk=lapsed[0][0]).update(
            reserved_usd=greatest_zero("reserved_usd", total)
        )


def greatest_zero(column: str, minus: Decimal):
    """`column` - `minus`, never under zero (an expression for .update())."""
    return Greatest(F(column) - Value(minus), Value(Decimal("0")))


@transaction.atomic(durable=True)
def reservation_release(*, tenant, run_id: str, reservation: str) -> Reservation:
    """Free a reservation early (the call was not made)."""
    found = (
        Reservation.objects.select_for_update()
        .filter(run__tenant=tenant, run__run_id=run_id, public_id=reservation)
        .first()
    )
    if found is None:
        raise NotFound(f"No reservation {reservation!r} on run {run_id}.")
    if found.status != ReservationStatus.OPEN:
        return found
    found.status, found.closed_at = ReservationStatus.RELEASED, timezone.now()
    found.save(update_fields=["status", "closed_at"])
    AgentRun.objects.filter(pk=found.run_id).update(
        reserved_usd=greatest_zero("reserved_usd", found.amount_usd)
    )
    return found
