"""SLA due times in business days (approvals/sla.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from approvals.sla import business_due_at, days_for_kind, is_business_day

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ACME = {"country": "DE", "time_zone": "Europe/Berlin", "start_hour": 9, "end_hour": 18}
GLOBEX = {"country": "US", "time_zone": "America/New_York", "start_hour": 9, "end_hour": 18}


def due(opened_at, days, tenant):
    return business_due_at(opened_at=opened_at, business_days=days, **tenant)


CASES = [
    # (opened, business days, tenant, due) — opened and due in the tenant's local time.
    pytest.param(
        datetime(2026, 11, 23, 11, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2026, 11, 24, 11, 0, tzinfo=BERLIN),
        id="monday-morning-plus-one-is-tuesday",
    ),
    pytest.param(
        datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2026, 11, 30, 15, 0, tzinfo=BERLIN),
        id="friday-afternoon-skips-the-weekend",
    ),
    pytest.param(
        datetime(2026, 11, 27, 19, 30, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2026, 11, 30, 18, 0, tzinfo=BERLIN),
        id="friday-evening-gets-all-of-monday",
    ),
    pytest.param(
        datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN),
        2,
        ACME,
        datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN),
        id="saturday-plus-two-is-tuesday-evening",
    ),
    pytest.param(
        datetime(2026, 11, 24, 7, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2026, 11, 24, 18, 0, tzinfo=BERLIN),
        id="before-hours-starts-at-nine",
    ),
    pytest.param(
        datetime(2026, 11, 25, 17, 0, tzinfo=BERLIN),
        3,
        ACME,
        datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN),
        id="three-days-across-a-weekend",
    ),
    pytest.param(
        datetime(2025, 10, 2, 10, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2025, 10, 6, 10, 0, tzinfo=BERLIN),
        id="german-unity-day-3-october",
    ),
    pytest.param(
        datetime(2026, 12, 23, 12, 0, tzinfo=BERLIN),
        2,
        ACME,
        datetime(2026, 12, 28, 12, 0, tzinfo=BERLIN),
        id="german-christmas-25-and-26-december",
    ),
    pytest.param(
        datetime(2025, 12, 24, 16, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2025, 12, 29, 16, 0, tzinfo=BERLIN),
        id="christmas-eve-to-the-monday-after-both-holidays",
    ),
    pytest.param(
        datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK),
        1,
        GLOBEX,
        datetime(2026, 11, 27, 10, 0, tzinfo=NEW_YORK),
        id="us-thanksgiving",
    ),
    pytest.param(
        datetime(2025, 7, 3, 10, 0, tzinfo=NEW_YORK),
        1,
        GLOBEX,
        datetime(2025, 7, 7, 10, 0, tzinfo=NEW_YORK),
        id="us-fourth-of-july-on-a-friday",
    ),
    pytest.param(
        datetime(2026, 7, 2, 10, 0, tzinfo=NEW_YORK),
        1,
        GLOBEX,
        datetime(2026, 7, 6, 10, 0, tzinfo=NEW_YORK),
        id="us-fourth-of-july-observed-on-friday",
    ),
    pytest.param(
        datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN),
        1,
        ACME,
        datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN),
        id="over-the-spring-clock-change",
    ),
    pytest.param(
        datetime(2026, 11, 23, 11, 0, tzinfo=BERLIN),
        0,
        ACME,
        datetime(2026, 11, 23, 11, 0, tzinfo=BERLIN),
        id="zero-days-is-now-in-hours",
    ),
]


@pytest.mark.parametrize(("opened_at", "days", "tenant", "expected"), CASES)
def test_due_time_counts_business_days(opened_at, days, tenant, expected):
    result = due(opened_at, days, tenant)
    assert result == expected
    assert result.utcoffset().total_seconds() == 0  # returned in UTC


def test_the_same_instant_is_due_differently_in_each_tenants_time_zone():
    # Wednesday 25 Nov 2026 16:00 UTC: 17:00 in Berlin (one working hour left that day),
    # 11:00 in New York, where Thursday is Thanksgiving.
    opened = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert due(opened, 1, ACME) == datetime(2026, 11, 26, 17, 0, tzinfo=BERLIN)
    assert due(opened, 1, GLOBEX) == datetime(2026, 11, 27, 11, 0, tzinfo=NEW_YORK)


def test_monday_morning_utc_is_before_hours_in_new_york():
    opened = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 Berlin, 03:00 New York
    assert due(opened, 1, ACME) == datetime(2026, 11, 23, 18, 0, tzinfo=BERLIN)
    assert due(opened, 1, GLOBEX) == datetime(2026, 11, 23, 18, 0, tzinfo=NEW_YORK)


def test_working_hours_are_the_tenants():
    early = {**ACME, "start_hour": 7, "end_hour": 15}
    opened = datetime(2026, 11, 23, 14, 0, tzinfo=BERLIN)
    assert due(opened, 1, early) == datetime(2026, 11, 24, 14, 0, tzinfo=BERLIN)


def test_a_working_day_may_end_at_midnight():
    late = {**ACME, "start_hour": 0, "end_hour": 24}
    opened = datetime(2026, 11, 27, 12, 0, tzinfo=BERLIN)  # Friday noon
    assert due(opened, 1, late) == datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("day", "country", "expected"),
    [
        pytest.param(datetime(2025, 10, 3).date(), "DE", False, id="DE-3-october"),
        pytest.param(datetime(2025, 10, 3).date(), "US", True, id="US-3-october"),
        pytest.param(datetime(2025, 11, 27).date(), "US", False, id="US-thanksgiving"),
        pytest.param(datetime(2025, 11, 27).date(), "DE", True, id="DE-thanksgiving"),
        pytest.param(datetime(2025, 11, 29).date(), "DE", False, id="saturday"),
        pytest.param(datetime(2025, 11, 29).date(), "XX", False, id="unknown-country-saturday"),
        pytest.param(datetime(2025, 12, 25).date(), "XX", True, id="unknown-country-no-holidays"),
    ],
)
def test_business_days_follow_the_country(day, country, expected):
    assert is_business_day(day, country) is expected


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        due(datetime(2026, 11, 23, 11, 0), 1, ACME)


@pytest.mark.parametrize(
    ("kind", "days"),
    [("approval", 3), ("revise_draft", 1), ("replan_draft", 2)],
)
def test_each_kind_uses_its_policy_days(kind, days):
    assert days_for_kind(kind, approval_days=3, revise_days=1, replan_days=2) == days
