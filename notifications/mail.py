"""E-mail of notifications, sent by the cluster after commit (django-anymail: the provider is
EMAIL_BACKEND; the console or file backend in development).

Immediate notifications wait a moment for their neighbours: a person's pending ones go out as
one e-mail once `NOTIFY_MAIL_QUIET_SECONDS` passed without a new one (or the oldest has waited
`NOTIFY_MAIL_MAX_WAIT_SECONDS`), so a burst of 200 tickets is one e-mail per person. The digest
goes once per business day at `DIGEST_HOUR` in the person's time zone. Both skip what resolved
meanwhile (a ticket that no longer waits), and both claim their rows before sending, so two
clusters never send one notification twice."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from approvals.models import TicketStatus
from approvals.sla import is_business_day
from notifications.kinds import KIND_SPECS, Delivery
from notifications.models import Notification, PersonSettings
from tenants.models import Membership

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)  # a claim older than this was a sender that died
MAIL_LIST_MAX = 50
DIGEST_HOUR = 9


def _pending(delivery: str, now: datetime):
    return Notification.objects.filter(
        delivery=delivery, emailed_at__isnull=True, mail_skipped=""
    ).filter(Q(mail_claimed_at__isnull=True) | Q(mail_claimed_at__lt=now - CLAIM_TIMEOUT))


def _claim(ids: list[int], now: datetime) -> list[Notification]:
    """Claim these notifications for one sender; those another sender took are left out."""
    with transaction.atomic():
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, emailed_at__isnull=True, mail_skipped="")
            .filter(Q(mail_claimed_at__isnull=True) | Q(mail_claimed_at__lt=now - CLAIM_TIMEOUT))
            .select_related("ticket", "tenant", "user", "for_user")
            .order_by("created_at", "id")
        )
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(mail_claimed_at=now)
    return claimed


def _still_relevant(notification: Notification) -> bool:
    """Something to act on whose ticket resolved meanwhile is not worth an e-mail any more."""
    spec = KIND_SPECS[notification.kind]
    ticket = notification.ticket
    return not (spec.actionable and ticket is not None and ticket.status != TicketStatus.OPEN)


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


def _lines(notification: Notification) -> list[str]:
    lines = [f"• {notification.title}"]
    if notification.for_user_id:
        lines.append(f"  (for {notification.for_user.get_username()}, who is away)")
    lines += [f"  {line}" for line in notification.body.splitlines() if line.strip()]
    if notification.url:
        lines.append(f"  {_absolute(notification.url)}")
    return lines


def _message(user, notifications: list[Notification], *, subject: str, intro: str):
    body = [intro, ""]
    for notification in notifications[:MAIL_LIST_MAX]:
        body += _lines(notification) + [""]
    if len(notifications) > MAIL_LIST_MAX:
        body.append(
            f"… and {len(notifications) - MAIL_LIST_MAX} more: {_absolute('/notifications/')}"
        )
    body.append(f"Choose what you hear about and how: {_absolute('/notifications/preferences/')}")
    message = AnymailMessage(subject=subject, body="\n".join(body), to=[user.email])
    message.tags = ["human-touch", "notification"]
    message.metadata = {"user": user.get_username(), "count": len(notifications)}
    return message


def _send(user, claimed: list[Notification], *, subject: str, intro: str) -> bool:
    """Send one e-mail of `claimed` (already claimed) to `user`; marks them sent, or skipped."""
    now = timezone.now()
    relevant = [n for n in claimed if _still_relevant(n)]
    resolved = [n.pk for n in claimed if not _still_relevant(n)]
    if resolved:
        Notification.objects.filter(pk__in=resolved).update(mail_skipped="resolved")
    if not relevant:
        return False
    if not user.email:
        Notification.objects.filter(pk__in=[n.pk for n in relevant]).update(
            mail_skipped="no_address"
        )
        return False
    message = _message(user, relevant, subject=subject, intro=intro)
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except Exception:
        # Give the claim back: the next run tries again.
        Notification.objects.filter(pk__in=[n.pk for n in relevant]).update(mail_claimed_at=None)
        logger.exception("notifications: mail to %s failed", user.get_username())
        return False
    Notification.objects.filter(pk__in=[n.pk for n in relevant]).update(emailed_at=now)
    return True


def mail_send_due(*, now: datetime | None = None) -> int:
    """Send each person's immediate notifications that are due, one e-mail per person."""
    now = now or timezone.now()
    quiet = timedelta(seconds=settings.NOTIFY_MAIL_QUIET_SECONDS)
    max_wait = timedelta(seconds=settings.NOTIFY_MAIL_MAX_WAIT_SECONDS)
    due_users = [
        row["user_id"]
        for row in _pending(Delivery.IMMEDIATE, now)
        .values("user_id")
        .annotate(newest=Max("created_at"), oldest=Min("created_at"))
        .order_by("user_id")
        if row["newest"] <= now - quiet or row["oldest"] <= now - max_wait
    ]
    sent = 0
    for user_id in due_users:
        ids = list(
            _pending(Delivery.IMMEDIATE, now).filter(user_id=user_id).values_list("pk", flat=True)
        )
        claimed = _claim(ids, now)
        if not claimed:
            continue
        user = claimed[0].user
        count = sum(1 for n in claimed if _still_relevant(n))
        subject = (
            f"[Human Touch] {claimed[0].title}"
            if count == 1
            else f"[Human Touch] {count} things for you"
        )
        sent += _send(user, claimed, subject=subject[:200], intro="Human Touch has news for you:")
    return sent


# --- The digest ----------------------------------------------------------------------------------
def person_zone_and_country(user) -> tuple[ZoneInfo, str]:
    """The person's time zone (theirs, or their first tenant's) and their tenant's country
    (business days)."""
    membership = (
        Membership.objects.filter(user=user).select_related("tenant").order_by("pk").first()
    )
    tenant_zone = membership.tenant.time_zone if membership else "UTC"
    country = membership.tenant.country if membership else ""
    person = PersonSettings.objects.filter(user=user).first()
    return ZoneInfo(person.time_zone if person and person.time_zone else tenant_zone), country


def digest_due_on(now: datetime, zone: ZoneInfo, country: str) -> date | None:
    """The local day whose digest is due now (09:00 passed on a business day), or None."""
    local = now.astimezone(zone)
    if local.hour < DIGEST_HOUR:
        return None
    if country and not is_business_day(local.date(), country):
        return None
    return local.date()


def digests_send_due(*, now: datetime | None = None) -> int:
    """Send the digest of each person whose 09:00 passed today (a business day) and who has
    not had today's; returns how many were sent."""
    now = now or timezone.now()
    by_user: dict[int, list[int]] = defaultdict(list)
    for pk, user_id in _pending(Delivery.DIGEST, now).values_list("pk", "user_id"):
        by_user[user_id].append(pk)
    sent = 0
    for user_id, ids in sorted(by_user.items()):
        first = Notification.objects.select_related("user").get(pk=ids[0])
        zone, country = person_zone_and_country(first.user)
        day = digest_due_on(now, zone, country)
        if day is None:
            continue
        person, _ = PersonSettings.objects.get_or_create(user_id=user_id)
        # The compare-and-swap: one digest per person per day, however many clusters run.
        took = (
            PersonSettings.objects.filter(pk=person.pk)
            .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=day))
            .update(last_digest_on=day)
        )
        if not took:
            continue
        claimed = _claim(ids, now)
        if not claimed:
            continue
        count = sum(1 for n in claimed if _still_relevant(n))
        sent += _send(
            first.user,
            claimed,
            subject=f"[Human Touch] Your digest for {day:%a %d %b}: {count} item(s)",
            intro="What happened since your last digest (resolved items are left out):",
        )
    return sent
