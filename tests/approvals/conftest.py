"""Fixtures shared by the approvals tests. Tickets are opened through the real service."""

from __future__ import annotations

import pytest

from tests.approvals.factories import open_ticket


@pytest.fixture
def make_ticket(db):
    """make_ticket(tenant, "A5", title=..., required_roles=[...], diff={...}) → an open Ticket."""
    return open_ticket
