"""Signed webhooks (issue 19.4): Standard Webhooks signatures a receiver verifies with the
`standardwebhooks` package, retries on 500 and timeouts on the schedule, order per ticket,
giving up and disabling, and every SSRF case refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from config.errors import DomainError
from integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_endpoint_create, webhook_test_send
from integrations.ssrf import UnsafeUrl, url_target
from integrations.webhooks import GIVE_UP_AFTER, endpoint_deliver, retry_delay
from notifications.models import Notification
from notifications.outbox import outbox_process
from tests.conftest import TEST_ACTOR


def _deliver(endpoint, **kwargs):
    return endpoint_deliver(endpoint.pk, sleep=lambda seconds: None, **kwargs)


def test_a_ticket_event_reaches_the_receiver_signed_as_standard_webhooks(
    acme, endpoint, receiver, make_ticket
):
    ticket = make_ticket(acme, "A3", title="Search +25%")
    outbox_process()

    _deliver(endpoint)

    assert [json.loads(r.body)["type"] for r in receiver.received] == [
        "ticket.opened",
        "ticket.waiting",
    ]
    first = receiver.received[0]
    verified = Webhook(endpoint.secret).verify(first.body, first.headers)  # the receiver's check
    assert verified["data"]["ticket"] == ticket.public_id
    assert verified["data"]["waiting_for"] == ["operator"]
    assert first.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(first.body.replace(b"Search", b"Social"), first.headers)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2


def test_a_red_flag_is_sent_as_red_flag_and_run_blocked(acme, endpoint, receiver, make_ticket):
    make_ticket(acme, "A9", run_id="run-42")
    outbox_process()
    _deliver(endpoint)

    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["ticket.opened", "ticket.red_flag", "run.blocked"]


def test_an_endpoint_receives_only_the_events_it_chose(acme, olga, receiver, make_ticket):
    endpoint, _ = webhook_endpoint_create(
        tenant=acme, actor=TEST_ACTOR, url=receiver.url, events=["ticket.decided"]
    )
    make_ticket(acme, "A3")
    outbox_process()

    assert _deliver(endpoint) == 0 and receiver.received == []


def test_a_500_is_retried_5_seconds_later_and_the_log_shows_each_try(
    acme, endpoint, receiver, time_machine
):
    receiver.answers = [(500, 0, {}), (200, 0, {})]
    delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)

    time_machine.move_to(timezone.now(), tick=False)
    # The worker waits for a retry this close (5 s), then sends it again.
    endpoint_deliver(endpoint.pk, sleep=lambda seconds: time_machine.shift(seconds))

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    tries = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(t.number, t.status_code) for t in tries] == [(1, 500), (2, 200)]
    assert all(t.latency_ms >= 0 for t in tries)


def test_a_timeout_is_a_failure_retried_on_the_schedule(acme, endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answers = [(200, 1.0, {})]
    delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)

    from integrations.webhooks import attempt

    logged = attempt(delivery)

    delivery.refresh_from_db()
    assert logged.error == "timed out" and logged.status_code is None
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at - logged.at == timedelta(seconds=5)


def test_the_retry_schedule():
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[:7] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(days=1),
    ]


def test_deliveries_of_one_ticket_wait_for_the_earlier_one(
    acme, endpoint, receiver, make_ticket, time_machine
):
    from approvals.services import ticket_decide
    from approvals.types import Verdict
    from integrations.webhooks import attempt

    time_machine.move_to(timezone.now(), tick=False)
    first = make_ticket(acme, "A3", title="first")
    outbox_process()
    receiver.answers = [(500, 0, {})]
    attempt(WebhookDelivery.objects.get(event_type="ticket.opened"))  # fails: again in 5 s
    second = make_ticket(acme, "A3", title="second")
    ticket_decide(ticket=first, actor=_operator(acme), verdict=Verdict.APPROVE)
    outbox_process()
    receiver.received.clear()
    receiver.answers = [(200, 0, {})]

    endpoint_deliver(endpoint.pk, sleep=lambda seconds: None)  # the 5 s are not over yet

    sent = [
        (json.loads(r.body)["type"], json.loads(r.body)["data"]["ticket"])
        for r in receiver.received
    ]
    assert sent == [("ticket.opened", second.public_id), ("ticket.waiting", second.public_id)]

    time_machine.shift(6)
    receiver.received.clear()
    endpoint_deliver(endpoint.pk, sleep=lambda seconds: None)

    sent = [
        (json.loads(r.body)["type"], json.loads(r.body)["data"]["ticket"])
        for r in receiver.received
    ]
    assert sent == [
        ("ticket.opened", first.public_id),
        ("ticket.waiting", first.public_id),
        ("ticket.decided", first.public_id),
    ]


def _type_and_ticket(received) -> tuple[str, str]:
    body = json.loads(received.body)
    return body["type"], body["data"]["ticket"]


def _operator(acme):
    from audit.actors import Actor
    from tenants.models import Role
    from tenants.services import membership_set, user_ensure

    user = user_ensure(username="paul", password="x-long-password-1")
    membership_set(tenant=acme, user=user, role=Role.OPERATOR, actor=TEST_ACTOR)
    return Actor.for_user(user)


def test_a_delivery_is_given_up_three_days_after_its_first_try(
    acme, endpoint, receiver, time_machine
):
    receiver.answers = [(503, 0, {})]
    delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    from integrations.webhooks import attempt

    while True:
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            break
        time_machine.move_to(delivery.next_attempt_at, tick=False)
        attempt(delivery)

    assert delivery.status == DeliveryStatus.FAILED
    # at 0 and 5 s, 5 min, 30 min, 2 h, 5 h, 10 h later, then daily: the last at about 65 h
    assert delivery.attempts == 9
    assert delivery.next_attempt_at - delivery.first_attempt_at > GIVE_UP_AFTER
    # Three days of nothing but failures: the endpoint is disabled and the admins are told.
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "failed for 3 days" in endpoint.disabled_reason
    note = Notification.objects.get(kind="integration")
    assert note.user.get_username() == "olga" and "was disabled" in note.title


def test_a_410_disables_the_endpoint_at_once_and_tells_the_admins(acme, endpoint, receiver):
    receiver.answers = [(410, 0, {})]
    webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)
    webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)

    _deliver(endpoint)

    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "it answered 410 Gone"
    assert len(receiver.received) == 1  # nothing more after the 410
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    assert Notification.objects.filter(kind="integration", user__username="olga").exists()


# --- SSRF ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hooks", "loopback"),
        ("http://10.1.2.3/hooks", "private"),
        ("http://192.168.1.10/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:127.0.0.1]:8000/hooks", "loopback"),
        ("http://[::1]/hooks", "loopback"),
        ("http://0.0.0.0/", "private"),
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(url, reason, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeUrl, match=reason):
        url_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "http://user:pw@example.com/",
    ],
)
def test_only_plain_http_or_https_urls_are_accepted(url):
    with pytest.raises(UnsafeUrl):
        url_target(url)


def test_a_name_resolving_to_a_private_address_is_refused_and_a_public_one_pinned(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    def resolves_to(*addresses):
        return lambda host, port, type=0: [(2, 1, 6, "", (a, port)) for a in addresses]

    with pytest.raises(UnsafeUrl, match="10.0.0.7, a private address"):
        url_target("https://hooks.example.com/x", resolve=resolves_to("93.184.216.34", "10.0.0.7"))
    target = url_target("https://hooks.example.com/x?a=1", resolve=resolves_to("93.184.216.34"))
    assert (target.address, target.host_header, target.path) == (
        "93.184.216.34",
        "hooks.example.com",
        "/x?a=1",
    )


def test_registering_an_unsafe_url_is_refused_and_nothing_is_written(acme, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(DomainError, match="loopback"):
        webhook_endpoint_create(
            tenant=acme, actor=TEST_ACTOR, url="http://127.0.0.1:9/x", events=["ticket.opened"]
        )
    assert not WebhookEndpoint.objects.exists()


def test_a_redirect_to_loopback_is_not_followed(acme, endpoint, receiver):
    from tests.integrations.receiver import start_receiver

    inner, server = start_receiver()  # loopback, not allowed
    try:
        receiver.answers = [(302, 0, {"Location": inner.url})]
        delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)
        from integrations.webhooks import attempt

        logged = attempt(delivery)
    finally:
        server.shutdown()
        server.server_close()

    assert logged.status_code == 302 and "redirect" in logged.error
    assert inner.received == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # retried later, never redirected


def test_a_loopback_receiver_is_refused_at_delivery_without_the_setting(
    acme, endpoint, receiver, settings
):
    delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)
    settings.WEBHOOK_ALLOWED_HOSTS = []
    from integrations.webhooks import attempt

    logged = attempt(delivery)

    assert logged.status_code is None and "loopback" in logged.error
    assert receiver.received == []


def test_an_admin_redelivers_a_delivery_that_was_given_up(acme, endpoint, receiver):
    from audit.models import AuditEvent
    from integrations.services import webhook_redeliver

    delivery = webhook_test_send(endpoint=endpoint, actor=TEST_ACTOR)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)

    webhook_redeliver(delivery=delivery, actor=TEST_ACTOR)
    _deliver(endpoint)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["webhook-id"] == delivery.message_id  # the same message
    assert AuditEvent.objects.filter(action="webhook_delivery.redelivery_asked").exists()
