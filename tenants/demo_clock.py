"""The demo world's moving clock (issue 18 item 1): `seed_demo` tells eight weeks of life, each
step at the moment it happened, through the real services. Every stamp — audit events (stamped
by Python's `timezone.now()` in audit.services, not by the database), `auto_now_add` columns,
SLA due times, the services' own `today()` — reads the travelled clock, so a ticket opened "six
working days ago" is opened then and its SLA runs from then; nothing is back-dated afterwards.

Moments are given as working days back from now at a time of day in the tenant's zone (people
work at business hours); a moment that would fall on a weekend moves back to the Friday, and a
moment that would lie in the future (a time later today than now) is clamped to a minute ago,
a second after the clock's last clamped moment (so clamped steps keep their order).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone


def working_day_back(day, back: int):
    """The date `back` working days (Mon–Fri) before `day` (0: `day` itself, or the Friday
    before when it falls on a weekend)."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    while back > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            back -= 1
    return day


class DemoClock:
    """Moments of the demo story for one tenant, relative to the real now at construction."""

    def __init__(self, time_zone: str, *, now: datetime | None = None):
        self.zone = ZoneInfo(time_zone)
        self.now = now or timezone.now()
        self._clamped = 0

    def moment(self, days_back: int, at: str = "10:00", *, working: bool = True) -> datetime:
        """`days_back` (working) days before today, at `at` ("HH:MM") in the tenant's zone."""
        today = self.now.astimezone(self.zone).date()
        day = working_day_back(today, days_back) if working else today - timedelta(days=days_back)
        hour, minute = (int(part) for part in at.split(":"))
        moment = datetime.combine(day, time(hour, minute), tzinfo=self.zone)
        latest = self.now - timedelta(minutes=1)
        if moment < latest:
            return moment
        self._clamped += 1
        return latest + timedelta(seconds=self._clamped)

    @contextmanager
    def at(self, days_back: int, at: str = "10:00", *, working: bool = True):
        """Run the block at that moment (the clock ticks on from there, so the block's events
        keep their order)."""
        with travel(self.moment(days_back, at, working=working)):
            yield


@contextmanager
def travel(moment: datetime):
    with time_machine.travel(moment, tick=True):
        yield
