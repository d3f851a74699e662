"""Delivering signed webhooks (Standard Webhooks, signed by the `standardwebhooks` package).

Each delivery is one message (`webhook-id`) to one endpoint. A cluster task delivers an
endpoint's due deliveries in order — per endpoint and ticket, a delivery waits while an earlier
one of the same ticket is still pending — under a lease, so two workers never send one
endpoint's messages side by side. A failure (not 2xx, a redirect, a timeout) is retried 5 s,
5 min, 30 min, 2 h, 5 h and 10 h later, then daily, and given up 3 days after the first try. An
endpoint that answers 410 Gone, or has failed everything for 3 days, is disabled and the tenant's
admins are told. Every try is logged (status, latency, attempt)."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.ssrf import UnsafeUrl, url_target

logger = logging.getLogger(__name__)

RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
]
DAILY = timedelta(days=1)
GIVE_UP_AFTER = timedelta(days=3)
LEASE = timedelta(minutes=2)
WAIT_INLINE = timedelta(seconds=10)  # a retry due this soon is waited for by the same worker
MAX_INLINE_WAITS = 3  # then the schedule (each minute) carries on
USER_AGENT = "HumanTouch-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def retry_delay(attempts_made: int) -> timedelta:
    """How long after the `attempts_made`-th failed try the next one comes."""
    index = attempts_made - 1
    return RETRY_DELAYS[index] if index < len(RETRY_DELAYS) else DAILY


def signed_request(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime):
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    signature = Webhook(endpoint.secret).sign(delivery.message_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


def http_post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST to the one checked, pinned address of `url`; never follows a redirect. Returns
    (status code or None, error sentence or "")."""
    try:
        target = url_target(url)
    except UnsafeUrl as refused:
        return None, refused.message[:300]
    timeout = urllib3.Timeout(
        connect=min(5.0, settings.WEBHOOK_TIMEOUT_SECONDS), read=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "host": target.host_header},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=True,
        )
    except urllib3.exceptions.TimeoutError:
        return None, "timed out"
    except urllib3.exceptions.HTTPError as failed:
        return None, f"could not connect: {type(failed).__name__}"[:300]
    finally:
        pool.close()
    if 300 <= response.status < 400:
        return response.status, "answered with a redirect, which is not followed"
    return response.status, ""


def _lease(endpoint_id: int, now: datetime) -> bool:
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def _release(endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=None)


def _next_in_order(endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery | None:
    """The oldest pending delivery of the endpoint that is due and has no earlier pending
    delivery of the same ticket before it."""
    pending = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING)
    heads: dict[str, int] = {}
    for pk, key in pending.order_by("id").values_list("pk", "order_key"):
        heads.setdefault(key or f"#{pk}", pk)
    due = (
        pending.filter(pk__in=list(heads.values()), next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .first()
    )
    return due


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    from integrations.services import webhook_endpoint_disable

    webhook_endpoint_disable(endpoint=endpoint, reason=reason)


def attempt(delivery: WebhookDelivery, *, manual: bool = False) -> WebhookAttempt:
    """Send one delivery once and record the try; schedules the next one or gives up."""
    endpoint = delivery.endpoint
    now = timezone.now()
    body, headers = signed_request(endpoint, delivery, now)
    started = time.monotonic()
    status, error = http_post(endpoint.url, body, headers)
    latency = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300 and not error
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.last_status_code = status
        delivery.last_error = error
        logged = WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=now,
            status_code=status,
            latency_ms=latency,
            error=error or ("" if ok else f"answered {status}"),
            manual=manual,
        )
        if ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            next_at = now + retry_delay(delivery.attempts)
            if next_at - delivery.first_attempt_at > GIVE_UP_AFTER:
                delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = next_at
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now
            )
        delivery.save()
    if not ok:
        endpoint.refresh_from_db(fields=["failing_since", "enabled"])
        # Failing for 3 days: a delivery gave up after its 3 days of retries with no success
        # anywhere on the endpoint since it began, or failures only for 3 days.
        gave_up = delivery.status == DeliveryStatus.FAILED and (
            endpoint.failing_since is not None
            and endpoint.failing_since <= delivery.first_attempt_at
        )
        if status == 410:
            _disable(endpoint, "it answered 410 Gone")
        elif gave_up or (endpoint.failing_since and now - endpoint.failing_since >= GIVE_UP_AFTER):
            _disable(endpoint, "every delivery to it failed for 3 days")
    return logged


def endpoint_deliver(endpoint_id: int, *, now_fn=timezone.now, sleep=time.sleep) -> int:
    """Deliver the endpoint's due deliveries in order; returns how many tries were made. A retry
    due within a few seconds (the first one, 5 s) is waited for here."""
    tries = waits = 0
    if not _lease(endpoint_id, now_fn()):
        return 0  # another worker delivers this endpoint right now
    try:
        while True:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
            if endpoint is None:
                break
            now = now_fn()
            delivery = _next_in_order(endpoint, now)
            if delivery is None:
                soon = (
                    WebhookDelivery.objects.filter(
                        endpoint=endpoint,
                        status=DeliveryStatus.PENDING,
                        next_attempt_at__lte=now + WAIT_INLINE,
                    )
                    .order_by("next_attempt_at")
                    .values_list("next_attempt_at", flat=True)
                    .first()
                )
                if soon is None or waits >= MAX_INLINE_WAITS:
                    break
                waits += 1
                sleep(max(0.0, (soon - now).total_seconds()))
                WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=now_fn() + LEASE)
                continue
            attempt(delivery)
            tries += 1
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=now_fn() + LEASE)
    finally:
        _release(endpoint_id)
    return tries


def deliveries_due(*, now: datetime | None = None) -> int:
    """Every endpoint with a due delivery (the cluster's schedule, each minute)."""
    now = now or timezone.now()
    endpoint_ids = (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    return sum(endpoint_deliver(endpoint_id) for endpoint_id in sorted(set(endpoint_ids)))
