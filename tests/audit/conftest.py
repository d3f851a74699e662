import pytest

from audit.actors import Actor
from audit.services import audit_event_append


@pytest.fixture
def append_events():
    """append_events(tenant, n) appends n events about ticket:1 and returns them."""

    def append(tenant, n: int, *, actor=None, action="ticket.noted", resource=("ticket", "1")):
        return [
            audit_event_append(
                tenant=tenant,
                actor=actor or Actor.service("tests"),
                action=action,
                resource=resource,
                data={"n": i},
            )
            for i in range(n)
        ]

    return append
