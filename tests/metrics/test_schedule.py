"""The Monday report mail: due at 08:00 on each tenant's own wall clock — Europe/Berlin and
America/New_York, in winter, in summer and on the Monday after each DST change — sent once per
tenant and week, to its planners, after commit; declared by setup_schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django_q.models import Schedule

from metrics.models import WeeklyReportMailing
from metrics.periods import report_due_at, report_week_due
from metrics.services import weekly_reports_send
from tenants.models import Role

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "week", "due_utc"),
    [
        # Berlin: 08:00 CET is 07:00 UTC in winter, 08:00 CEST is 06:00 UTC in summer.
        (BERLIN, date(2026, 11, 9), utc(2026, 11, 16, 7, 0)),
        (BERLIN, date(2026, 6, 1), utc(2026, 6, 8, 6, 0)),
        # The Mondays after Berlin's changes (29 March, 25 October 2026).
        (BERLIN, date(2026, 3, 23), utc(2026, 3, 30, 6, 0)),
        (BERLIN, date(2026, 10, 19), utc(2026, 10, 26, 7, 0)),
        # New York: 08:00 EST is 13:00 UTC, 08:00 EDT 12:00 UTC; its changes: 8 March, 1 November.
        (NEW_YORK, date(2026, 11, 9), utc(2026, 11, 16, 13, 0)),
        (NEW_YORK, date(2026, 6, 1), utc(2026, 6, 8, 12, 0)),
        (NEW_YORK, date(2026, 3, 2), utc(2026, 3, 9, 12, 0)),
        (NEW_YORK, date(2026, 10, 26), utc(2026, 11, 2, 13, 0)),
    ],
)
def test_the_report_of_a_week_is_due_at_monday_8_on_the_tenants_wall_clock(zone, week, due_utc):
    assert report_due_at(week, zone) == due_utc
    one_minute = due_utc.replace(minute=59, hour=due_utc.hour - 1)
    assert report_week_due(one_minute, zone) is None
    assert report_week_due(due_utc, zone) == week
    # Later that week (a cluster that was down on Monday) the same week is still the one due.
    assert report_week_due(utc(2026, 11, 20, 23, 0), BERLIN) == date(2026, 11, 9)


@pytest.fixture
def tenants(acme, globex, acme_v1, make_member):
    make_member("pia", acme, Role.PLANNER, email="pia@acme.test")
    make_member("pete", acme, Role.PLANNER, email="pete@acme.test")
    make_member("otto", acme, Role.OPERATOR, email="otto@acme.test")
    make_member("gwen", globex, Role.PLANNER, email="gwen@globex.test")
    return acme, globex


@pytest.mark.django_db(transaction=True)
def test_monday_8_in_berlin_mails_acme_and_not_yet_globex_in_new_york(tenants):
    acme, globex = tenants
    weekly_reports_send(now=utc(2026, 11, 16, 6, 59))
    assert mail.outbox == []

    result = weekly_reports_send(now=utc(2026, 11, 16, 7, 0))
    (message,) = mail.outbox
    assert message.to == ["pete@acme.test", "pia@acme.test"]  # the planners, not the operator
    assert message.subject == "[Human Touch] Weekly report 9 Nov – 15 Nov 2026 — Acme Retail"
    assert "always_on (v1)" in message.body
    assert [name for name, _content, _type in message.attachments] == [
        "weekly-acme-always_on-2026-11-09.csv"
    ]
    assert result.mails == 1

    # Again, and at 13:00 UTC when it is 08:00 in New York: acme's is not sent twice.
    weekly_reports_send(now=utc(2026, 11, 16, 7, 15))
    weekly_reports_send(now=utc(2026, 11, 16, 13, 0))
    assert [m.to for m in mail.outbox] == [
        ["pete@acme.test", "pia@acme.test"],
        ["gwen@globex.test"],
    ]
    assert "No track has an approved version yet." in mail.outbox[1].body
    assert set(WeeklyReportMailing.objects.values_list("tenant__slug", "week_start")) == {
        ("acme", date(2026, 11, 9)),
        ("globex", date(2026, 11, 9)),
    }


@pytest.mark.django_db
def test_the_mail_leaves_only_after_the_claim_commits(tenants, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        weekly_reports_send(now=utc(2026, 11, 16, 7, 0))
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_setup_schedules_declares_the_weekly_reports_once():
    for _ in range(2):
        call_command("setup_schedules", stdout=StringIO())
    (schedule,) = Schedule.objects.filter(name="metrics.weekly_reports")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "metrics.tasks.weekly_reports",
        Schedule.MINUTES,
        15,
    )
