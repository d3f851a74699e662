"""Keeping the QC result rollups (agents.models.QcResultDay) in step (issue 21.5).

A django-q2 task every 5 minutes (agents/tasks.py), not the QC service itself: recording a QC
verdict stays one insert on the agents' hot path, a refresh counts a whole day in one statement
instead of one upsert per verdict, and the rollups are derived data the metrics can always do
without (agents/rollups.py reads raw results for whatever is not rolled up yet).

QC results are append-only (agents.services.qc only inserts them), so their id is an insertion
order and the watermark is an id: a refresh recounts, from the raw results, every (tenant, local
day) that a result with an id above the watermark falls on. That covers late-arriving results
(an import dated last week recounts last week's day) and is idempotent (a day is deleted and
counted again in one transaction; a second or concurrent run waits for the watermark's row lock
and finds nothing new). An id is taken before its transaction commits, so a result can become
visible after a higher id was already seen: each refresh re-reads from the watermark of the
refresh before it (`rescan_from_id`), which catches a commit up to one interval late, and the
days it counts are only trusted up to `complete_until`, the refresh's time less MARGIN.
`qc_rollups_rebuild` (manage.py rollups_rebuild) recounts everything: after a tenant changes its
time zone (its days move) or when in doubt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from agents import rollups_runs as runs_rollups
from agents.models import AgentRun, QcResult, QcResultDay, RollupWatermark, RunDay
from agents.rollups import QC_WATERMARK
from agents.rollups_runs import RUNS_WATERMARK
from approvals.models import Ticket
from config import rollups
from tenants.models import Tenant

MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class RollupRefresh:
    days: int
    seen_id: int

    def line(self) -> str:
        return f"QC result rollups: {self.days} day(s) recounted, read up to id {self.seen_id}"


def _mark() -> RollupWatermark:
    RollupWatermark.objects.get_or_create(name=QC_WATERMARK)
    return RollupWatermark.objects.select_for_update().get(name=QC_WATERMARK)


def _recount(touched_from_id: int, up_to_id: int) -> int:
    results, days = QcResult._meta.db_table, QcResultDay._meta.db_table
    tenants = Tenant._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT q.tenant_id, (q.created_at AT TIME ZONE t.time_zone)::date
                FROM {results} q JOIN {tenants} t ON t.id = q.tenant_id
                WHERE q.id > %s AND q.id <= %s""",
            [touched_from_id, up_to_id],
        )
        touched = cursor.fetchall()
        if not touched:
            return 0
        tenant_ids, local_days = ([row[0] for row in touched], [row[1] for row in touched])
        cursor.execute(
            f"""DELETE FROM {days} d
                USING unnest(%s::bigint[], %s::date[]) AS x(tenant_id, day)
                WHERE d.tenant_id = x.tenant_id AND d.day = x.day""",
            [tenant_ids, local_days],
        )
        # One pass over the results of the touched days' span (a day either side covers every
        # time zone), counted per local day first and only then matched with the touched days:
        # joining on each day's bounds would evaluate them for every result and every day.
        cursor.execute(
            f"""INSERT INTO {days} (tenant_id, day, main_task_id, subtask_id, agent, model,
                                    results, passed, first_attempts, first_passed)
                SELECT g.* FROM (
                    SELECT q.tenant_id, (q.created_at AT TIME ZONE t.time_zone)::date AS day,
                           q.main_task_id, q.subtask_id, q.agent, q.model,
                           COUNT(*), COUNT(*) FILTER (WHERE q.passed),
                           COUNT(*) FILTER (WHERE q.attempt = 1),
                           COUNT(*) FILTER (WHERE q.attempt = 1 AND q.passed)
                    FROM {results} q JOIN {tenants} t ON t.id = q.tenant_id
                    WHERE q.tenant_id = ANY(%s) AND q.created_at >= %s AND q.created_at < %s
                    GROUP BY 1, 2, 3, 4, 5, 6
                ) g
                JOIN (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::date[])) AS x(tenant_id, day)
                  ON x.tenant_id = g.tenant_id AND x.day = g.day""",
            [
                sorted(set(tenant_ids)),
                *rollups.touched_span(local_days),
                tenant_ids,
                local_days,
            ],
        )
    return len(touched)


@transaction.atomic(durable=True)
def qc_rollups_refresh(*, now: datetime | None = None) -> RollupRefresh:
    """Recount the days of the results added since the refresh before last."""
    now = now or timezone.now()
    mark = _mark()
    top = QcResult.objects.order_by("-id").values_list("id", flat=True).first() or 0
    days = _recount(mark.rescan_from_id, top)
    mark.rescan_from_id, mark.seen_id = mark.seen_id, top
    mark.complete_until = now - MARGIN
    mark.refreshed_at = now
    mark.save(update_fields=["rescan_from_id", "seen_id", "complete_until", "refreshed_at"])
    return RollupRefresh(days=days, seen_id=top)


@transaction.atomic(durable=True)
def qc_rollups_rebuild(*, now: datetime | None = None) -> RollupRefresh:
    """Recount every day from the raw results."""
    now = now or timezone.now()
    mark = _mark()
    QcResultDay.objects.all().delete()
    top = QcResult.objects.order_by("-id").values_list("id", flat=True).first() or 0
    days = _recount(0, top)
    # The next refresh still re-reads what the last one saw, for a result committed late.
    mark.rescan_from_id, mark.seen_id = min(mark.seen_id, top), top
    mark.complete_until = now - MARGIN
    mark.refreshed_at = now
    mark.save(update_fields=["rescan_from_id", "seen_id", "complete_until", "refreshed_at"])
    return RollupRefresh(days=days, seen_id=top)


# --- The run rollups (agents.models.RunDay, read by agents/rollups_runs.py) ----------------------
# A run is filed under the local day it started (created_at never moves), but its loops and its
# A8 change while it runs. Every change that matters leaves a new row behind: a loop changes only
# with a new QC result of the run (agents.services.qc writes both in one transaction), and a run
# raises its first A8 with a new A8 ticket naming it. So the rule: a refresh recounts the day of
# every run that is new since the watermark, that has a QC result new since it, or that a ticket
# new since it names; three insertion-id watermarks, each re-read from the refresh before.
RUN_MARKS = (RUNS_WATERMARK, f"{RUNS_WATERMARK}.qc", f"{RUNS_WATERMARK}.tickets")


@dataclass(frozen=True)
class RunRollupRefresh:
    days: int
    seen: tuple[int, int, int]

    def line(self) -> str:
        runs, results, tickets = self.seen
        return (
            f"run rollups: {self.days} day(s) recounted, read up to run {runs}, QC result "
            f"{results} and ticket {tickets}"
        )


def _run_marks() -> list[RollupWatermark]:
    for name in RUN_MARKS:
        RollupWatermark.objects.get_or_create(name=name)
    locked = RollupWatermark.objects.select_for_update().filter(name__in=RUN_MARKS)
    found = {mark.name: mark for mark in locked}
    return [found[name] for name in RUN_MARKS]


def _run_days_touched(cursor, spans: list[tuple[int, int]]) -> list[tuple]:
    runs, results, tickets = AgentRun._meta.db_table, QcResult._meta.db_table, Ticket._meta.db_table
    cursor.execute(
        f"""WITH changed AS (
                SELECT r.id FROM {runs} r WHERE r.id > %s AND r.id <= %s
                UNION
                SELECT q.run_id FROM {results} q WHERE q.id > %s AND q.id <= %s
                UNION
                SELECT r.id FROM {tickets} t
                JOIN {runs} r ON r.tenant_id = t.tenant_id AND r.run_id = t.run_id
                WHERE t.id > %s AND t.id <= %s AND t.run_id <> ''
            )
            SELECT DISTINCT r.tenant_id, (r.created_at AT TIME ZONE tn.time_zone)::date
            FROM changed c JOIN {runs} r ON r.id = c.id
            JOIN {Tenant._meta.db_table} tn ON tn.id = r.tenant_id""",
        [value for span in spans for value in span],
    )
    return cursor.fetchall()


def _run_recount(spans: list[tuple[int, int]]) -> int:
    def states(tenant_ids: list[int], since: datetime, until: datetime):
        for metric in runs_rollups.STATES:
            state = runs_rollups.state_sql(
                metric,
                bucket="(r.created_at AT TIME ZONE tn.time_zone)::date",
                source=f"{AgentRun._meta.db_table} r "
                f"JOIN {Tenant._meta.db_table} tn ON tn.id = r.tenant_id",
                extra="AND r.tenant_id = ANY(%s) AND r.created_at >= %s AND r.created_at < %s",
            )
            yield metric, state, [tenant_ids, since, until] * runs_rollups.SOURCES[metric]

    return rollups.recount_days(
        lambda cursor: _run_days_touched(cursor, spans),
        days_table=RunDay._meta.db_table,
        columns=runs_rollups.COLUMNS,
        states=states,
    )


def _run_tops() -> list[int]:
    return [
        model.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for model in (AgentRun, QcResult, Ticket)
    ]


def _run_finish(marks, tops, *, days: int, now: datetime, rebuilt: bool) -> RunRollupRefresh:
    for mark, top in zip(marks, tops, strict=True):
        mark.rescan_from_id = min(mark.seen_id, top) if rebuilt else mark.seen_id
        mark.seen_id = top
        mark.complete_until = now - MARGIN
        mark.refreshed_at = now
        mark.save(update_fields=["rescan_from_id", "seen_id", "complete_until", "refreshed_at"])
    return RunRollupRefresh(days=days, seen=tuple(tops))


@transaction.atomic(durable=True)
def run_rollups_refresh(*, now: datetime | None = None) -> RunRollupRefresh:
    """Recount the days of the runs started, QC'd or named by a ticket since the refresh
    before last."""
    now = now or timezone.now()
    marks, tops = _run_marks(), _run_tops()
    days = _run_recount([(m.rescan_from_id, top) for m, top in zip(marks, tops, strict=True)])
    return _run_finish(marks, tops, days=days, now=now, rebuilt=False)


@transaction.atomic(durable=True)
def run_rollups_rebuild(*, now: datetime | None = None) -> RunRollupRefresh:
    """Recount every run day from the raw runs."""
    now = now or timezone.now()
    marks, tops = _run_marks(), _run_tops()
    RunDay.objects.all().delete()
    days = _run_recount([(0, top) for top in tops])
    return _run_finish(marks, tops, days=days, now=now, rebuilt=True)
