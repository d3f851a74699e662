"""What the rollup tests (issue 21.5) share: two tenants on either side of the Atlantic around
Berlin's DST change, the random ranges that compare rollup figures with the raw aggregates', and
the refresh's schedule (tests/agents/test_rollups.py, tests/agents/test_run_rollups.py,
tests/approvals/test_rollups.py, tests/optimization/test_rollups.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.sql import ComparedRanges

NOW = datetime(2026, 3, 31, 14, 25, tzinfo=UTC)  # Berlin's DST began on 29 March


def two_tenants(make_tenant):
    """acme (Berlin) and globex (New York)."""
    return (
        make_tenant("acme", time_zone="Europe/Berlin"),
        make_tenant("globex", time_zone="America/New_York"),
    )


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: sorted((k, str(v)) for k, v in row.items()))


def for_any_range(*, days: int = 70, **more):
    """A property over random ranges within `days` before NOW: the test takes `edges`,
    `midnights` and `which` (and `more`'s strategies), for `any_range`."""
    moments = st.integers(min_value=0, max_value=days * 24 * 60).map(
        lambda minutes: NOW - timedelta(minutes=minutes)
    )

    def decorate(test):
        return settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )(
            given(
                edges=st.lists(moments, min_size=3, max_size=3),
                midnights=st.booleans(),
                which=st.sampled_from(["both", "acme", "globex"]),
                **more,
            )(test)
        )

    return decorate


def any_range(world, edges, midnights: bool, which: str) -> tuple[ComparedRanges, tuple]:
    """The ranges and tenant ids a for_any_range example draws."""
    acme, globex = world
    since, split, until = sorted(edges)
    if midnights:  # the metrics page's own ranges: local midnights of the first tenant
        zone = ZoneInfo(acme.time_zone)
        since, split, until = (
            datetime.combine(moment.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
            for moment in (since, split, until)
        )
    ranges = ComparedRanges(since=since, split=split, until=until)
    tenant_ids = {"both": (acme.pk, globex.pk), "acme": (acme.pk,), "globex": (globex.pk,)}[which]
    return ranges, tenant_ids


def days_before_now(since: int, split: int) -> ComparedRanges:
    return ComparedRanges(
        since=NOW - timedelta(days=since), split=NOW - timedelta(days=split), until=NOW
    )


def assert_every_five_minutes(name: str, func: str) -> None:
    """setup_schedules declares the refresh `name` (running `func`) every five minutes."""
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name=name)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        func,
        Schedule.MINUTES,
        5,
    )
