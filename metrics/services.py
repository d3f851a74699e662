"""The Monday mail of the weekly track reports (django-q2 runs `weekly_reports_send` every 15
minutes; each tenant's mail goes once its own wall clock reads Monday 08:00)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from config.formatting import date_text
from metrics.exports import csv_lines
from metrics.models import WeeklyReportMailing
from metrics.periods import report_week_due
from metrics.report import CSV_HEADER, report_rows, report_text, reported_tracks, weekly_report
from tenants import selectors as tenants
from tenants.roles import Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailingResult:
    tenants: int
    mails: int
    failed: int = 0

    def line(self) -> str:
        return (
            f"weekly reports: {self.mails} mail(s) for {self.tenants} tenant(s), "
            f"{self.failed} failed"
        )


def planner_emails(tenant) -> list[str]:
    return tenants.member_emails(tenant=tenant, role=Role.PLANNER)


def _mail(tenant, week_start, reports) -> EmailMessage:
    week = reports[0].week if reports else None
    label = week.label() if week else date_text(week_start)
    body = [
        f"The weekly report of {tenant.name} for {label}, anchored to each track's approved "
        "version.",
        "",
    ]
    body += [report_text(report) + "\n" for report in reports] or [
        "No track has an approved version yet."
    ]
    message = EmailMessage(
        subject=f"[Human Touch] Weekly report {label} — {tenant.name}",
        body="\n".join(body),
        to=planner_emails(tenant),
    )
    for report in reports:
        message.attach(
            f"weekly-{tenant.slug}-{report.track.key}-{week_start.isoformat()}.csv",
            "".join(csv_lines(CSV_HEADER, report_rows(report), ZoneInfo(tenant.time_zone))),
            "text/csv",
        )
    return message


@transaction.atomic(durable=True)
def weekly_report_mail_tenant(*, tenant, now: datetime) -> bool:
    """Claim, build and (after commit) mail one tenant's report of the week that is due, if it
    is due and nobody sent it yet. Returns whether this call claimed it."""
    week_start = report_week_due(now, ZoneInfo(tenant.time_zone))
    if week_start is None:
        return False
    recipients = planner_emails(tenant)
    try:
        with transaction.atomic():
            mailing = WeeklyReportMailing.objects.create(
                tenant=tenant, week_start=week_start, recipients=recipients
            )
    except IntegrityError:  # sent already, or another worker is sending it now
        return False
    reports = [
        weekly_report(track=track, week_start=week_start, client_safe=False, now=now)
        for track in reported_tracks(tenant)
    ]
    WeeklyReportMailing.objects.filter(pk=mailing.pk).update(tracks=len(reports))
    if recipients:
        # A function, not a partial: a robust callback that fails is logged by its __qualname__,
        # which a partial lacks (the failed mail would then fail the caller after its commit).
        message = _mail(tenant, week_start, reports)
        transaction.on_commit(lambda: _send(message), robust=True)
    return True


def weekly_reports_send(*, now: datetime | None = None) -> MailingResult:
    """Every tenant whose Monday 08:00 has come and whose mail for that week has not gone: one
    transaction per tenant, so one tenant's failure never stops the others."""
    now = now or timezone.now()
    mails = failed = 0
    every_tenant = tenants.tenants_in_order()
    for tenant in every_tenant:
        try:
            mails += weekly_report_mail_tenant(tenant=tenant, now=now)
        except DatabaseError:
            logger.exception("weekly reports: tenant %s failed; the next run retries it", tenant.pk)
            failed += 1
    return MailingResult(tenants=len(every_tenant), mails=mails, failed=failed)


def _send(message: EmailMessage) -> None:
    with get_connection() as connection:
        connection.send_messages([message])
