"""Keeping the change-set rollups (optimization.models.ChangeSetDay) in step (issue 21.5).

Like the QC result rollups (agents/services/rollups.py): a django-q2 task every 5 minutes
(optimization/tasks.py), derived data the metrics can always do without.

Change sets are not append-only: after its day a change set is decided, applied, lapses or is
rolled back. But the row itself only moves along its log (ChangeSetEvent, append-only, one row
per thing that happens), and a rollback is a new change set that `reverts` the old one. So the
watermark is two insertion ids, change sets' and log events', and the rule is: **a refresh
recounts every (tenant, local day) that a change set new since the watermark, or one with a log
event new since the watermark, is filed under** — its created day and its applied day — **and,
for a new rollback, the applied day of the change set it reverts.** Each refresh re-reads from
the watermark of the refresh before (an id is taken before its transaction commits), and the
days are read only up to `complete_until`, the refresh's time less MARGIN. A day's recount is
delete-and-insert in one transaction: idempotent, and a concurrent refresh waits for the mark's
row lock. `change_set_rollups_rebuild` (manage.py rollups_rebuild) recounts everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config import rollups
from optimization.models import ChangeSet, ChangeSetDay, ChangeSetEvent, ChangeSetRollupMark
from optimization.rollups import ANCHORS, COLUMNS, CS, DAYS, state_sql
from tenants.models import Tenant

MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class ChangeSetRollupRefresh:
    days: int
    seen_id: int
    seen_event_id: int

    def line(self) -> str:
        return (
            f"change-set rollups: {self.days} day(s) recounted, read up to change set "
            f"{self.seen_id} and log event {self.seen_event_id}"
        )


def _mark() -> ChangeSetRollupMark:
    found = ChangeSetRollupMark.objects.select_for_update().order_by("id").first()
    if found is None:
        ChangeSetRollupMark.objects.create()
        found = ChangeSetRollupMark.objects.select_for_update().order_by("id").first()
    return found


def _touched(cursor, ids: tuple[int, int], event_ids: tuple[int, int]) -> list[tuple]:
    tenants, events = Tenant._meta.db_table, ChangeSetEvent._meta.db_table
    local = "(cs.{0} AT TIME ZONE tn.time_zone)::date"
    cursor.execute(
        f"""WITH changed AS (
                SELECT cs.id FROM {CS} cs WHERE cs.id > %s AND cs.id <= %s
                UNION
                SELECT e.change_set_id FROM {events} e WHERE e.id > %s AND e.id <= %s
                UNION
                SELECT cs.reverts_id FROM {CS} cs
                WHERE cs.id > %s AND cs.id <= %s AND cs.reverts_id IS NOT NULL
            )
            SELECT DISTINCT cs.tenant_id, d.day
            FROM changed c JOIN {CS} cs ON cs.id = c.id
            JOIN {tenants} tn ON tn.id = cs.tenant_id,
            LATERAL (VALUES ({local.format("created_at")}), ({local.format("applied_at")})) d(day)
            WHERE d.day IS NOT NULL""",
        [*ids, *event_ids, *ids],
    )
    return cursor.fetchall()


def _recount(ids: tuple[int, int], event_ids: tuple[int, int], *, now: datetime) -> int:
    tenants = Tenant._meta.db_table

    def states(tenant_ids: list[int], since: datetime, until: datetime):
        for metric, anchor in ANCHORS.items():
            # Only what is final: one not decided yet is read raw (optimization/rollups.py).
            decided = "AND cs.decided_at IS NOT NULL" if metric == "held" else ""
            state = state_sql(
                metric,
                bucket=f"(cs.{anchor} AT TIME ZONE tn.time_zone)::date",
                source=f"{CS} cs JOIN {tenants} tn ON tn.id = cs.tenant_id",
                extra=f"AND cs.tenant_id = ANY(%s) AND cs.{anchor} >= %s AND cs.{anchor} < %s "
                + decided,
            )
            yield metric, state, [*([now] if metric == "held" else []), tenant_ids, since, until]

    return rollups.recount_days(
        lambda cursor: _touched(cursor, ids, event_ids),
        days_table=DAYS,
        columns=COLUMNS,
        states=states,
    )


def _top(model) -> int:
    return model.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _finish(mark: ChangeSetRollupMark, *, days: int, top: int, top_event: int, now: datetime):
    mark.rescan_from_id, mark.seen_id = min(mark.seen_id, top), top
    mark.rescan_from_event_id = min(mark.seen_event_id, top_event)
    mark.seen_event_id = top_event
    mark.complete_until = now - MARGIN
    mark.refreshed_at = now
    mark.save()
    return ChangeSetRollupRefresh(days=days, seen_id=top, seen_event_id=top_event)


@transaction.atomic(durable=True)
def change_set_rollups_refresh(*, now: datetime | None = None) -> ChangeSetRollupRefresh:
    """Recount the days of the change sets added or logged since the refresh before last."""
    now = now or timezone.now()
    mark = _mark()
    top, top_event = _top(ChangeSet), _top(ChangeSetEvent)
    days = _recount((mark.rescan_from_id, top), (mark.rescan_from_event_id, top_event), now=now)
    return _finish(mark, days=days, top=top, top_event=top_event, now=now)


@transaction.atomic(durable=True)
def change_set_rollups_rebuild(*, now: datetime | None = None) -> ChangeSetRollupRefresh:
    """Recount every day from the raw change sets."""
    now = now or timezone.now()
    mark = _mark()
    ChangeSetDay.objects.all().delete()
    top, top_event = _top(ChangeSet), _top(ChangeSetEvent)
    days = _recount((0, top), (0, top_event), now=now)
    return _finish(mark, days=days, top=top, top_event=top_event, now=now)
