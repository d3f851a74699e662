"""The login throttle: django-axes with our lockout rules (docs/rules.md "Logging in").

Every login (the dashboard's and portal's page, Django admin) goes through authenticate(), where
axes asks this handler whether the request may try, and records each failure.

- A username is locked from one address after AXES_FAILURE_LIMIT failures from there.
- An address is locked once its failures span LOGIN_USERNAMES_PER_ADDRESS usernames (password
  spraying) — for every username except those that have logged in from it before
  (KnownLoginAddress): an office behind one address keeps working through one person's typos
  or an attack on its address.
- A lockout ends after AXES_COOLOFF_TIME, or when an admin of the person's tenant lifts it.

Each lockout is recorded (LoginLockout) and audited in the tenants of the person it keeps out.
The client address is config.client_address (django-ipware and PROXY_COUNT).
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models import Sum
from django.dispatch import receiver
from django.utils import timezone

from config.client_address import client_address
from tenants.models import KnownLoginAddress, LockoutKind


def _recent_attempts(ip_address: str):
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since)


def login_lock(username: str | None, ip_address: str) -> tuple[str | None, int]:
    """(LockoutKind or None, failures that count) for `username` trying from `ip_address`."""
    attempts = _recent_attempts(ip_address)
    own = (
        attempts.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"] or 0
        if username is not None
        else 0
    )
    if own >= settings.AXES_FAILURE_LIMIT:
        return LockoutKind.USERNAME, own
    known = (
        username is not None
        and KnownLoginAddress.objects.filter(username=username, ip_address=ip_address).exists()
    )
    if not known:
        usernames = attempts.exclude(username=None).values("username").distinct().count()
        if usernames >= settings.LOGIN_USERNAMES_PER_ADDRESS:
            return LockoutKind.ADDRESS, own
    return None, own


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes compares get_failures with AXES_FAILURE_LIMIT: an address lockout reports the limit,
    so axes refuses the attempt the same way, and the request remembers which rule it was."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        kind, failures = login_lock(username, request.axes_ip_address)
        request.login_lock_kind = kind
        request.login_lock_failures = failures
        if kind == LockoutKind.ADDRESS:
            return max(failures, settings.AXES_FAILURE_LIMIT)
        return failures


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check before the password backend. A login with no request (the test client's
    login(), a script) comes from no address and is not from the web: nothing to throttle.
    Every web login (LoginView, Django admin) passes its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_locked_out)
def _record_lockout(sender, request, username, ip_address, **kwargs):
    from tenants.services import login_lockout_record

    kind = getattr(request, "login_lock_kind", None) or LockoutKind.USERNAME
    login_lockout_record(
        username=username or "",
        ip_address=ip_address,
        kind=kind,
        failures=getattr(request, "login_lock_failures", 0),
    )


@receiver(user_logged_in)
def _remember_login_address(sender, request, user, **kwargs):
    if request is None or not request.META.get("REMOTE_ADDR"):
        return  # not a login from the web (force_login in a test, a script)
    now = timezone.now()
    pair, created = KnownLoginAddress.objects.get_or_create(
        username=user.get_username(),
        ip_address=client_address(request),
        defaults={"first_seen_at": now, "last_seen_at": now},
    )
    if not created:
        KnownLoginAddress.objects.filter(pk=pair.pk).update(last_seen_at=now)
