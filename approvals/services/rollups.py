"""Keeping the ticket rollups (approvals.models.TicketDay) in step (issue 21.5): a django-q2
task every 5 minutes (approvals/tasks.py), like the QC, run and change-set rollups.

A ticket changes after its day (decided, withdrawn, its slots filled) and every such change
saves it (`updated_at`, auto_now; the SLA sweep's set-based update sets it too) or adds a
decision. So the rule: **a refresh recounts every (tenant, local day) that a ticket updated since
the last refresh (less MARGIN, for transactions still open then), or one with a decision new
since the refresh before last (by insertion id), is filed under: its created day and its
resolved day.** Days are read only up to `complete_until`, the refresh's time less MARGIN; until
the next refresh a past day's figure can lag its ticket by one interval. `ticket_rollups_rebuild`
(manage.py rollups_rebuild) recounts everything (after a tenant changes its time zone, or a
transaction held open longer than MARGIN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from approvals.models import TicketDay, TicketDecision, TicketRollupMark
from approvals.rollups import ANCHORS, COLUMNS, DAYS, TICKETS, state_sql
from config import rollups
from tenants.models import Tenant

MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class TicketRollupRefresh:
    days: int
    seen_decision_id: int

    def line(self) -> str:
        return (
            f"ticket rollups: {self.days} day(s) recounted, read up to decision "
            f"{self.seen_decision_id}"
        )


def _mark() -> TicketRollupMark:
    found = TicketRollupMark.objects.select_for_update().order_by("id").first()
    if found is None:
        TicketRollupMark.objects.create()
        found = TicketRollupMark.objects.select_for_update().order_by("id").first()
    return found


def _touched(cursor, updated_since: datetime | None, decisions: tuple[int, int]) -> list[tuple]:
    local = "(t.{0} AT TIME ZONE tn.time_zone)::date"
    updated = "t.updated_at >= %s" if updated_since else "TRUE"
    cursor.execute(
        f"""WITH changed AS (
                SELECT t.id FROM {TICKETS} t WHERE {updated}
                UNION
                SELECT d.ticket_id FROM {TicketDecision._meta.db_table} d
                WHERE d.id > %s AND d.id <= %s
            )
            SELECT DISTINCT t.tenant_id, x.day
            FROM changed c JOIN {TICKETS} t ON t.id = c.id
            JOIN {Tenant._meta.db_table} tn ON tn.id = t.tenant_id,
            LATERAL (VALUES ({local.format("created_at")}), ({local.format("resolved_at")})) x(day)
            WHERE x.day IS NOT NULL""",
        [*([updated_since] if updated_since else []), *decisions],
    )
    return cursor.fetchall()


def _recount(updated_since: datetime | None, decisions: tuple[int, int]) -> int:
    def states(tenant_ids: list[int], since: datetime, until: datetime):
        for metric, anchor in ANCHORS.items():
            state = state_sql(
                metric,
                bucket=f"(t.{anchor} AT TIME ZONE tn.time_zone)::date",
                source=f"{TICKETS} t JOIN {Tenant._meta.db_table} tn ON tn.id = t.tenant_id",
                extra=f"AND t.tenant_id = ANY(%s) AND t.{anchor} >= %s AND t.{anchor} < %s",
            )
            yield metric, state, [tenant_ids, since, until]

    return rollups.recount_days(
        lambda cursor: _touched(cursor, updated_since, decisions),
        days_table=DAYS,
        columns=COLUMNS,
        states=states,
    )


def _finish(mark: TicketRollupMark, *, days: int, top: int, started: datetime, now: datetime):
    mark.rescan_from_decision_id = min(mark.seen_decision_id, top)
    mark.seen_decision_id = top
    mark.updated_since = started - MARGIN
    mark.complete_until = now - MARGIN
    mark.refreshed_at = now
    mark.save()
    return TicketRollupRefresh(days=days, seen_decision_id=top)


def _top() -> int:
    return TicketDecision.objects.order_by("-id").values_list("id", flat=True).first() or 0


@transaction.atomic(durable=True)
def ticket_rollups_refresh(*, now: datetime | None = None) -> TicketRollupRefresh:
    """Recount the days of the tickets changed since the last refresh."""
    started = timezone.now()  # what updated_at is stamped with
    now = now or started
    mark, top = _mark(), _top()
    if mark.updated_since is None:
        TicketDay.objects.all().delete()  # the first refresh counts everything
    days = _recount(mark.updated_since, (mark.rescan_from_decision_id, top))
    return _finish(mark, days=days, top=top, started=started, now=now)


@transaction.atomic(durable=True)
def ticket_rollups_rebuild(*, now: datetime | None = None) -> TicketRollupRefresh:
    """Recount every ticket day from the raw tickets."""
    started = timezone.now()
    now = now or started
    mark, top = _mark(), _top()
    TicketDay.objects.all().delete()
    days = _recount(None, (0, top))
    return _finish(mark, days=days, top=top, started=started, now=now)
