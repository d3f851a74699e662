"""Signed checkpoints posted to the tenant's webhook (issue 20.3, integrations/checkpoints.py):
an endpoint that chose `audit.checkpoint` receives each new checkpoint once, in order, as a
signed note its receiver verifies with our public key; endpoints that did not choose it, and
other tenants' endpoints, get nothing."""

from __future__ import annotations

import json

from audit.checkpoints import audit_checkpoint_all
from audit.models import AuditChainHead
from audit.tlog import checkpoint_open
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.services import webhook_endpoint_create
from integrations.tasks import post_checkpoints
from integrations.webhooks import endpoint_deliver
from tests.approvals.factories import open_ticket
from tests.conftest import TEST_ACTOR


def checkpoint_endpoint(tenant, receiver, events=("audit.checkpoint",)):
    endpoint, _secret = webhook_endpoint_create(
        tenant=tenant, actor=TEST_ACTOR, url=receiver.url, events=list(events)
    )
    return endpoint


def head_size(tenant) -> int:
    return AuditChainHead.objects.get(tenant=tenant).seq


def test_each_new_checkpoint_reaches_the_webhook_once_as_a_signed_note(
    acme, olga, receiver, audit_signer
):
    endpoint = checkpoint_endpoint(acme, receiver)
    audit_checkpoint_all(tenant=acme)
    first_size = head_size(acme)

    assert post_checkpoints() == "posted 1 checkpoint(s)"
    assert post_checkpoints() == "posted 0 checkpoint(s)"  # once, however often it looks
    endpoint_deliver(endpoint.pk, sleep=lambda seconds: None)

    [received] = receiver.received
    body = json.loads(received.body)
    assert body["type"] == "audit.checkpoint"
    assert (body["data"]["tenant"], body["data"]["size"]) == ("acme", first_size)
    checkpoint, key = checkpoint_open(body["data"]["note"], [audit_signer.verifier])
    assert checkpoint.size == first_size
    assert checkpoint.origin == body["data"]["origin"]
    assert key.name == audit_signer.verifier.name

    # The log grows twice, checkpointed each time: two more, in order of size.
    open_ticket(acme, "A3", title="Search +10%")
    audit_checkpoint_all(tenant=acme)
    second_size = head_size(acme)
    open_ticket(acme, "A3", title="Search +20%")
    audit_checkpoint_all(tenant=acme)
    assert post_checkpoints() == "posted 2 checkpoint(s)"
    endpoint_deliver(endpoint.pk, sleep=lambda seconds: None)

    sizes = [json.loads(r.body)["data"]["size"] for r in receiver.received]
    assert sizes == [first_size, second_size, head_size(acme)]
    deliveries = WebhookDelivery.objects.filter(event_type="audit.checkpoint")
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    assert deliveries.count() == 3


def test_only_endpoints_that_chose_the_event_and_only_their_own_tenants_checkpoints(
    acme, globex, olga, receiver
):
    checkpoint_endpoint(acme, receiver, events=["ticket.opened"])
    globex_endpoint = checkpoint_endpoint(globex, receiver)
    audit_checkpoint_all()

    assert post_checkpoints() == "posted 1 checkpoint(s)"

    [delivery] = WebhookDelivery.objects.filter(event_type="audit.checkpoint")
    assert delivery.endpoint == globex_endpoint
    assert delivery.payload["data"]["tenant"] == "globex"


def test_no_checkpoint_yet_posts_nothing(acme, olga, receiver):
    checkpoint_endpoint(acme, receiver)

    assert post_checkpoints() == "posted 0 checkpoint(s)"
    assert not WebhookDelivery.objects.exists()
