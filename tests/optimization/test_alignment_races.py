"""Two agents send the same alignment at the same instant on PostgreSQL (issue 16 item 5): one
applies, the other is refused — the entity moves once, is re-pointed once, and the audit chain
holds."""

from __future__ import annotations

import pytest

from audit.actors import Actor
from audit.verify import audit_chains_verify
from optimization.models import AppliedChange, ChangeSet, ExecutionManifestEntry
from optimization.services import ChangeSetRequest, change_set_submit
from tests.optimization.test_alignment import align_body, v2  # noqa: F401 (fixture)
from tests.plans.test_lock_order import at_once, refusals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AGENT = Actor.service("optimizer")


def align(tenant, change_set_id):
    def submit():
        return change_set_submit(
            tenant=tenant,
            request=ChangeSetRequest(
                change_set_id=change_set_id,
                track="always_on",
                kind="alignment",
                items=[align_body()["items"][0]],
            ),
            actor=AGENT,
        )

    return submit


@pytest.mark.parametrize("attempt", range(3))
def test_two_alignments_at_once_apply_one_and_refuse_the_other(v2, attempt):  # noqa: F811
    results = at_once(align(v2.tenant, "align-a"), align(v2.tenant, "align-b"))

    refused = refusals(results)
    assert len(refused) == 1
    assert refused[0].code in {"not_alignment", "stale_before"}
    assert ChangeSet.objects.filter(status="applied", kind="alignment").count() == 1
    social = ExecutionManifestEntry.objects.get(entity_id="social-prospecting")
    assert (social.state["daily_budget"], social.plan_version) == ("433.33", 2)
    assert AppliedChange.objects.filter(manifest_entry=social).count() == 1
    assert audit_chains_verify().ok
