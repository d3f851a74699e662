"""Each ops metric on hand-computed data: an empty range, one sample, and the figures of a few
rows worked out by hand (the range shown is 1–14 March 2026 in Europe/Berlin, the range before
it 15–28 February). Rows are written with their times straight into the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from metrics import board
from optimization.models import ChangeSetKind, ChangeSetStatus
from tenants.models import Role, TenantPolicy
from tests.metrics import factories as f

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 14)
IN_RANGE = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
BEFORE = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)  # in the range before
LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # in neither
H = timedelta(hours=1)


@pytest.fixture
def scope(acme, scope_of):
    return scope_of([acme], FIRST, LAST)


def rows_by_label(metric) -> dict:
    return {row[0]: row for row in metric.rows}


# --- 1. Time to approve ---------------------------------------------------------------------------
def test_an_empty_range_has_no_time_to_approve(scope):
    metric = board.time_to_approve(scope)
    assert metric.is_empty and metric.chart is None and metric.headline == ""


def test_one_approval_is_its_own_mean_median_and_p90(acme, scope):
    f.ticket(acme, "A1", created=IN_RANGE, resolved=IN_RANGE + 2 * H)
    (row,) = board.time_to_approve(scope).rows
    assert row[:5] == ("A1 Media plan approval", 1, 7200.0, 7200.0, 7200.0)


def test_mean_median_and_p90_by_type_against_the_range_before(acme, scope):
    for hours in (1, 2, 3, 10):
        f.ticket(acme, "A1", created=IN_RANGE, resolved=IN_RANGE + hours * H)
    f.ticket(acme, "A1", created=BEFORE, resolved=BEFORE + 6 * H)
    f.ticket(acme, "A3", created=IN_RANGE, resolved=IN_RANGE + 30 * timedelta(minutes=1))
    f.ticket(acme, "A6", created=IN_RANGE, resolved=IN_RANGE)  # an override: left out
    f.ticket(acme, "A1", created=IN_RANGE)  # still open
    f.ticket(acme, "A1", created=LONG_AGO, resolved=LONG_AGO + H)  # in neither range
    f.ticket(acme, "A1", created=IN_RANGE, resolved=IN_RANGE + H, status="rejected")

    metric = board.time_to_approve(scope)
    rows = rows_by_label(metric)
    # 1, 2, 3, 10 hours: mean 4h, median 2.5h, p90 3 + 0.7 × (10 − 3) = 7.9h.
    assert rows["A1 Media plan approval"] == (
        "A1 Media plan approval",
        4,
        14400.0,
        9000.0,
        pytest.approx(28440.0),
        1,
        21600.0,
    )
    assert rows["A3 Spend guardrail breach"][1:3] == (1, 1800.0)
    assert "A6 Manual override" not in rows
    # (4 × 4h + 0.5h) / 5 approvals = 3h 18m; before: 6h.
    assert metric.headline == "5 approvals, 3h 18m on average (before: 6h 0m)"
    assert [bar.label for bar in metric.chart.bars] == list(rows)


def test_a_range_across_the_spring_dst_change_counts_its_23_hour_day_whole(acme, scope_of):
    # Berlin moves from CET to CEST at 02:00 on 29 March 2026: that day has 23 hours.
    scope = scope_of([acme], date(2026, 3, 29), date(2026, 3, 29))
    assert scope.until - scope.split == timedelta(hours=23)
    # 00:30 CET on the 29th (23:30 UTC the day before): inside.
    first = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    f.ticket(acme, "A1", created=first - 3 * H, resolved=first)
    # 23:30 CEST on the 29th (21:30 UTC): inside; 00:30 CEST on the 30th (22:30 UTC): outside.
    f.ticket(
        acme,
        "A1",
        created=datetime(2026, 3, 29, 20, 30, tzinfo=UTC),
        resolved=datetime(2026, 3, 29, 21, 30, tzinfo=UTC),
    )
    f.ticket(
        acme,
        "A1",
        created=datetime(2026, 3, 29, 21, 0, tzinfo=UTC),
        resolved=datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
    )
    # Opened 23:30 CET on the 28th, approved 03:30 CEST on the 29th: 3 hours, not 4.
    f.ticket(
        acme,
        "A2",
        created=datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
        resolved=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )

    rows = rows_by_label(board.time_to_approve(scope))
    assert rows["A1 Media plan approval"][1:3] == (2, 7200.0)
    assert rows["A2 Launch confirmation"][2] == 10800.0


# --- 2. Changes auto-approved ---------------------------------------------------------------------
def test_the_share_of_changes_applied_without_a_person(acme, scope):
    for _ in range(3):
        f.change_set(acme, created=IN_RANGE)
    f.change_set(acme, created=IN_RANGE, status=ChangeSetStatus.PENDING_APPROVAL, ticket="T-1")
    f.change_set(acme, created=IN_RANGE, status=ChangeSetStatus.BLOCKED)  # structural: not counted
    f.change_set(acme, created=IN_RANGE, kind=ChangeSetKind.ROLLBACK)  # an operator's rollback
    f.change_set(acme, created=BEFORE, status=ChangeSetStatus.APPLIED, ticket="T-2")
    f.change_set(acme, created=BEFORE)

    metric = board.auto_approved(scope, many_tenants=False)
    assert metric.rows == [
        ("always_on", 4, 3, Decimal("75.00"), Decimal("50.00"), Decimal("25.00"))
    ]
    assert metric.headline == "75% of 4 changes applied without a person (before: 50%)"


def test_no_change_set_no_share(scope):
    assert board.auto_approved(scope, many_tenants=False).is_empty


# --- 3. QC first pass -----------------------------------------------------------------------------
def test_first_pass_rate_by_agent_main_task_and_model(acme, scope):
    x = f.run(acme, created=IN_RANGE, agent="writer", main_task_id="brief", model="m-1")
    y = f.run(acme, created=IN_RANGE, agent="checker", main_task_id="brief", model="m-2")
    f.qc(x, at=IN_RANGE, subtask="s1")
    f.qc(x, at=IN_RANGE, subtask="s2")
    f.qc(x, at=IN_RANGE, subtask="s3", passed=False, codes=["tone"])
    f.qc(x, at=IN_RANGE, subtask="s3", attempt=2)  # a second attempt: not a first pass
    f.qc(y, at=IN_RANGE, subtask="s1", passed=False, codes=["facts"])
    f.qc(y, at=BEFORE, subtask="s1")

    by_agent = rows_by_label(board.qc_first_pass(scope, by="agent"))
    assert by_agent["writer"][1:4] == (3, 2, Decimal("66.67"))
    assert by_agent["checker"][1:6] == (1, 0, Decimal("0.00"), 1, Decimal("100.00"))
    by_task = board.qc_first_pass(scope, by="main_task_id")
    assert by_task.rows[0][:4] == ("brief", 4, 2, Decimal("50.00"))
    assert set(rows_by_label(board.qc_first_pass(scope, by="model"))) == {"m-1", "m-2"}


def test_first_pass_is_grouped_only_by_its_three_dimensions(scope):
    with pytest.raises(ValueError):
        board.qc_first_pass(scope, by="subtask_id")


# --- 4. Failure codes and loop depth --------------------------------------------------------------
def test_top_failure_codes_and_the_depth_of_correction_loops(acme, scope):
    r1 = f.run(acme, created=IN_RANGE)
    r2 = f.run(acme, created=IN_RANGE)
    old = f.run(acme, created=BEFORE)
    f.loop(r1, subtask="s1", attempts=3, passed=True, codes=["tone", "facts"])
    f.loop(r1, subtask="s2", attempts=1, passed=True)
    f.loop(r2, subtask="s1", attempts=5, passed=False, codes=["tone"])
    f.loop(old, subtask="s1", attempts=2, passed=True, codes=["tone"])

    codes = board.failure_codes(scope)
    assert codes.rows == [
        ("tone", 2, Decimal("4.00"), Decimal("50.00"), 1),
        ("facts", 1, Decimal("3.00"), Decimal("100.00"), 0),
    ]
    depth = rows_by_label(board.loop_depth(scope))
    assert depth["1 attempt"] == ("1 attempt", 1, Decimal("33.33"), Decimal("100.00"), 0)
    assert depth["3 attempts"][1] == 1
    assert depth["4+ attempts"] == ("4+ attempts", 1, Decimal("33.33"), Decimal("0.00"), 0)
    assert depth["2 attempts"] == ("2 attempts", 0, Decimal("0.00"), None, 1)


# --- 5. A8 rate next to QC fail patterns ----------------------------------------------------------
def test_the_a8_rate_of_runs_by_the_failure_codes_met_on_the_same_run(acme, scope):
    r1 = f.run(acme, created=IN_RANGE, a8=True)
    r2 = f.run(acme, created=IN_RANGE)
    f.run(acme, created=IN_RANGE, a8=True)  # no QC loop at all
    r4 = f.run(acme, created=IN_RANGE)
    f.loop(r1, codes=["timeout"], passed=False, attempts=3)
    f.loop(r1, subtask="s2", codes=["timeout"], passed=False, attempts=3)  # counted once per run
    f.loop(r2, codes=["timeout", "schema"])
    f.loop(r4)  # a loop without a failure code
    f.run(acme, created=BEFORE, a8=True)

    rows = rows_by_label(board.a8_by_qc_pattern(scope))
    assert list(rows) == ["All runs", "No QC failure code", "timeout", "schema"]
    assert rows["All runs"] == ("All runs", 4, 2, Decimal("50.00"), Decimal("100.00"))
    assert rows["No QC failure code"][1:4] == (2, 1, Decimal("50.00"))
    assert rows["timeout"][1:4] == (2, 1, Decimal("50.00"))
    assert rows["schema"][1:4] == (1, 0, Decimal("0.00"))


# --- 6. Grains under the success floor ------------------------------------------------------------
def test_grains_under_the_floor_alert_rate_and_time_to_recovery(acme, scope):
    TenantPolicy.objects.filter(tenant=acme).update(
        min_sample_global=2, success_floor=Decimal("0.8")
    )
    run = f.run(acme, created=IN_RANGE)
    for passed in (True, True, False):  # s1: 2 of 3, under 80%
        f.qc(run, at=IN_RANGE, subtask="s1", passed=passed)
    for _ in range(2):  # s2: 2 of 2
        f.qc(run, at=IN_RANGE, subtask="s2")
    f.qc(run, at=IN_RANGE, subtask="s3", passed=False)  # one result: not enough to judge
    # The task: 4 of 6 passed, under 80%.
    f.alert(acme, opened=IN_RANGE, recovered=IN_RANGE + 90 * timedelta(minutes=1))
    f.alert(acme, opened=IN_RANGE + H, subtask="s3")
    f.alert(acme, opened=BEFORE, recovered=BEFORE + 3 * H, subtask="s2")

    rows = rows_by_label(board.grains_under_floor(scope))
    subtasks = rows["Subtasks"]
    assert subtasks[1:8] == (3, 2, 1, Decimal("50.00"), None, 2, Decimal("100.00"))
    # Recovered after 90 minutes (and 3 hours in the range before); one alert still open.
    assert subtasks[8:13] == (1, 5400.0, 5400.0, 10800.0, 1)
    tasks = rows["Tasks (main_task_id)"]
    assert tasks[1:5] == (1, 1, 1, Decimal("100.00"))


def test_a_grain_with_one_result_is_never_judged(acme, scope):
    run = f.run(acme, created=IN_RANGE)
    f.qc(run, at=IN_RANGE, passed=False)
    rows = rows_by_label(board.grains_under_floor(scope))
    assert rows["Subtasks"][1:5] == (1, 0, 0, None)  # min_sample_global is 20


# --- 7. Rollback after approval -------------------------------------------------------------------
def test_change_sets_rolled_back_and_versions_reverted_within_n_days(acme, scope):
    by_person = f.change_set(acme, created=IN_RANGE, ticket="T-9", applied=IN_RANGE + H)
    late = f.change_set(acme, created=IN_RANGE, applied=IN_RANGE)
    f.change_set(acme, created=IN_RANGE, applied=IN_RANGE)
    f.change_set(
        acme,
        created=IN_RANGE + 2 * timedelta(days=1),
        kind=ChangeSetKind.ROLLBACK,
        reverts=by_person,
        applied=IN_RANGE + 2 * timedelta(days=1),
    )
    f.change_set(
        acme,
        created=IN_RANGE,
        kind=ChangeSetKind.ROLLBACK,
        reverts=late,
        applied=IN_RANGE + 10 * timedelta(days=1),
    )
    v1 = f.version(acme, 1, status="superseded", approved=LONG_AGO, payload_hash="a")
    v2 = f.version(acme, 2, status="superseded", approved=IN_RANGE, parent=v1, payload_hash="b")
    f.version(
        acme,
        3,
        status="approved",
        approved=IN_RANGE + 3 * timedelta(days=1),
        parent=v2,
        payload_hash="a",
    )

    rows = rows_by_label(board.rollbacks(scope, days=7))
    assert rows["Change sets approved by a person"][1:4] == (1, 1, Decimal("100.00"))
    assert rows["Change sets within the guardrails"][1:4] == (2, 0, Decimal("0.00"))
    assert rows["Plan versions"][1:4] == (2, 1, Decimal("50.00"))
    longer = rows_by_label(board.rollbacks(scope, days=14))
    assert longer["Change sets within the guardrails"][2] == 1


# --- 8. Manual overrides over time ----------------------------------------------------------------
def test_overrides_per_day_on_the_tenants_wall_clock(acme, scope):
    # 23:30 UTC on 4 March is 00:30 on the 5th in Berlin.
    f.ticket(
        acme,
        "A6",
        created=datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
        resolved=datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
    )
    f.ticket(acme, "A6", created=IN_RANGE, resolved=IN_RANGE)
    f.ticket(
        acme,
        "A6",
        created=datetime(2026, 3, 14, 12, 0, tzinfo=UTC),
        resolved=datetime(2026, 3, 14, 12, 0, tzinfo=UTC),
    )
    for _ in range(4):
        f.ticket(acme, "A6", created=BEFORE, resolved=BEFORE)

    metric = board.overrides(scope)
    counts = dict(metric.rows)
    assert len(metric.rows) == 14 and counts["5 Mar"] == 2 and counts["14 Mar"] == 1
    assert counts["4 Mar"] == 0
    assert metric.headline == "3 overrides, fewer than the 4 of the range before"
    assert len(metric.chart.columns) == 14


def test_no_override_in_either_range_is_an_empty_metric(scope):
    assert board.overrides(scope).is_empty


# --- 9. SLA breaches ------------------------------------------------------------------------------
def test_sla_breach_rate_by_type_and_where_approvals_stall_by_role(acme, scope, make_member):
    planner = make_member("pia", acme, Role.PLANNER)
    legal = make_member("lea", acme, Role.LEGAL)
    due = IN_RANGE + 8 * H
    on_time = f.ticket(
        acme,
        "A7",
        created=IN_RANGE,
        resolved=due - H,
        sla_due=due,
        required_roles=["planner", "legal"],
    )
    f.approval(on_time, planner, slot="planner", at=due - 2 * H)
    f.approval(on_time, legal, slot="legal", at=due - H)
    late = f.ticket(
        acme,
        "A7",
        created=IN_RANGE,
        resolved=due + H,
        sla_due=due,
        required_roles=["planner", "legal"],
    )
    f.approval(late, planner, slot="planner", at=due - H)  # the planner was in time
    f.approval(late, legal, slot="legal", at=due + H)  # legal was not
    f.ticket(
        acme, "A3", created=IN_RANGE, sla_due=due, required_roles=["operator"]
    )  # open, past due
    f.ticket(
        acme,
        "A3",
        created=IN_RANGE,
        sla_due=due + 30 * timedelta(days=1),
        required_roles=["operator"],
    )
    f.ticket(acme, "A3", created=IN_RANGE, sla_due=due, status="cancelled", resolved=due + H)

    by_type = rows_by_label(board.sla_by_type(scope))
    assert by_type["A7 Compliance / policy"][1:4] == (2, 1, Decimal("50.00"))
    assert by_type["A3 Spend guardrail breach"][1:4] == (2, 1, Decimal("50.00"))
    by_role = rows_by_label(board.sla_by_role(scope))
    assert by_role["planner"][1:4] == (2, 0, Decimal("0.00"))
    assert by_role["legal"][1:4] == (2, 1, Decimal("50.00"))
    assert by_role["operator"][1:4] == (2, 1, Decimal("50.00"))


# --- 10. Spend at risk ----------------------------------------------------------------------------
def test_the_daily_budget_held_by_change_sets_waiting_and_for_how_long(acme, acme_v1, scope_of):
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    scope = scope_of([acme], FIRST, LAST, now=now)
    f.change_set(
        acme,
        created=now - 48 * H,
        status=ChangeSetStatus.PENDING_APPROVAL,
        ticket="T-1",
        items=[("300.00", "390.00"), ("200.00", "150.00")],
    )
    f.change_set(
        acme,
        created=IN_RANGE,
        status=ChangeSetStatus.APPLIED,
        ticket="T-2",
        decided=IN_RANGE + 24 * H,
        items=[("100.00", "120.00")],
    )
    f.change_set(acme, created=IN_RANGE, items=[("100.00", "200.00")])  # no person needed

    metric = board.spend_at_risk(scope, many_tenants=False)
    (row,) = metric.rows
    label, currency, waiting, held, oldest, sent, mean_wait, budget_days = row[:8]
    assert (label, currency, waiting, held, oldest, sent) == (
        "always_on",
        "EUR",
        1,
        Decimal("140.00"),
        now - 48 * H,
        2,
    )
    assert mean_wait == pytest.approx((48 + 24) / 2 * 3600)
    # 140 a day for 2 days + 20 a day for 1 day.
    assert budget_days == Decimal("300.00")
    assert metric.headline == "1 change set waiting now, holding €140 a day"


# --- 11. A3 what-if -------------------------------------------------------------------------------
def test_the_a3s_a_looser_auto_approve_threshold_would_have_let_through(acme, scope):
    def a3(*channels, status=ChangeSetStatus.APPLIED, launches=(), created=IN_RANGE):
        ticket = f.ticket(acme, "A3", created=created)
        f.change_set(
            acme,
            created=created,
            status=status,
            ticket=ticket.public_id,
            guardrails=f.guardrails(*channels, launches=launches),
        )

    a3((12, True), (3, True))
    a3((18, True))
    a3((14, False))  # drifts too far: a threshold never lets it through
    a3((30, True), status=ChangeSetStatus.REJECTED)
    a3((None, True))  # from a channel spending nothing: unbounded
    a3((11, True), launches=["e1"])  # a first launch still needs a person
    a3((16, True), created=BEFORE)

    metric = board.a3_what_if(scope, current_pcts=[Decimal("10")])
    rows = rows_by_label(metric)
    assert list(rows) == ["Under 15%", "Under 20%", "Under 25%", "Under 30%", "Under 50%"]
    assert rows["Under 15%"][1:6] == (1, Decimal("16.67"), 0, 0, Decimal("0.00"))
    assert rows["Under 20%"][1:5] == (2, Decimal("33.33"), 0, 1)
    assert rows["Under 30%"][1:4] == (3, Decimal("50.00"), 1)
    assert metric.extra["a3s"] == 6


def test_no_a3_no_what_if(scope):
    assert board.a3_what_if(scope, current_pcts=[Decimal("10")]).is_empty


# --- Every metric, empty --------------------------------------------------------------------------
def test_every_metric_of_an_empty_range_is_empty(scope):
    metrics = board.build_all(scope, options=board.Options(), many_tenants=False, current_pcts=[])
    assert [m.key for m in metrics] == list(board.METRIC_KEYS)
    assert all(m.is_empty for m in metrics)


# --- One sample each ------------------------------------------------------------------------------
def test_one_sample_of_each_kind_reads_as_itself(acme, scope):
    run = f.run(acme, created=IN_RANGE, agent="writer", a8=True)
    f.qc(run, at=IN_RANGE, passed=False, codes=["tone"])
    f.loop(run, attempts=2, passed=False, codes=["tone"])
    f.ticket(acme, "A6", created=IN_RANGE, resolved=IN_RANGE)
    f.ticket(acme, "A1", created=IN_RANGE, sla_due=IN_RANGE + H)  # open past due
    f.change_set(acme, created=IN_RANGE, applied=IN_RANGE)

    assert board.qc_first_pass(scope, by="agent").rows == [
        ("writer", 1, 0, Decimal("0.00"), 0, None, None)
    ]
    assert board.failure_codes(scope).rows == [("tone", 1, Decimal("2.00"), Decimal("0.00"), 0)]
    assert rows_by_label(board.a8_by_qc_pattern(scope))["tone"][1:4] == (1, 1, Decimal("100.00"))
    assert sum(count for _day, count in board.overrides(scope).rows) == 1
    assert board.sla_by_type(scope).rows == [
        ("A1 Media plan approval", 1, 1, Decimal("100.00"), None, None)
    ]
    assert board.auto_approved(scope, many_tenants=False).rows[0][1:4] == (1, 1, Decimal("100.00"))
    assert rows_by_label(board.rollbacks(scope, days=7))["Change sets within the guardrails"][
        1:4
    ] == (1, 0, Decimal("0.00"))
