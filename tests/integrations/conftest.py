from __future__ import annotations

import pytest

from integrations.services import webhook_endpoint_create
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.integrations.receiver import start_receiver


@pytest.fixture
def receiver(settings):
    """A local receiver, allowed by WEBHOOK_ALLOWED_HOSTS (as a receiver inside a network)."""
    receiver, server = start_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = [receiver.host]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def olga(acme, make_member):
    """Olga administers acme."""
    return make_member("olga", acme, Role.ADMIN, email="olga@acme.test")


@pytest.fixture
def endpoint(acme, olga, receiver):
    endpoint, _secret = webhook_endpoint_create(
        tenant=acme,
        actor=TEST_ACTOR,
        url=receiver.url,
        events=[
            "ticket.opened",
            "ticket.waiting",
            "ticket.decided",
            "ticket.red_flag",
            "run.blocked",
        ],
    )
    return endpoint


@pytest.fixture
def make_ticket(db):
    from tests.approvals.factories import open_ticket

    return open_ticket
