from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from metrics.periods import ranges_for
from metrics.selectors import Scope

BERLIN = ZoneInfo("Europe/Berlin")


def make_scope(
    tenants, first: date, last: date, *, now: datetime | None = None, zone=BERLIN
) -> Scope:
    ranges = ranges_for(first=first, last=last, today=last, zone=zone)
    return Scope(
        tenant_ids=tuple(t.pk for t in tenants),
        ranges=ranges,
        now=now or ranges.current.end,
    )


@pytest.fixture
def scope_of():
    return make_scope
