"""Concurrent policy changes on PostgreSQL: each one locks the policy row, so none is lost."""

import threading

import pytest
from django.db import connection

from audit.models import AuditEvent
from tenants.models import TenantPolicy
from tenants.services import tenant_policy_update
from tests.conftest import TEST_ACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHANGES = [
    {"tool_rounds_max": 4},
    {"qc_correction_max": 1},
    {"drift_pct": 12},
    {"kpi_miss_days": 14},
    {"sla_approval_days": 1},
    {"window_hours": 12},
]


def test_concurrent_admins_changing_different_keys_lose_none_of_the_changes(acme):
    barrier = threading.Barrier(len(CHANGES))
    errors = []

    def change(keys):
        try:
            barrier.wait()
            tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes=keys)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(keys,)) for keys in CHANGES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    policy = TenantPolicy.objects.get(tenant=acme)
    for keys in CHANGES:
        for key, value in keys.items():
            assert getattr(policy, key) == value
    assert AuditEvent.objects.filter(tenant=acme, action="policy.updated").count() == len(CHANGES)
    assert policy.history.count() == 1 + len(CHANGES)
