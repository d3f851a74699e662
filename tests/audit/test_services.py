"""audit_event_append: one link per call, per-tenant chains, safe under concurrent writers."""

import threading

import pytest
from django.db import connection

from audit.actors import Actor
from audit.chain import GENESIS_HASH, sha256_of
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_event_append, audit_events_append_many
from audit.verify import audit_chains_verify
from tenants.models import Tenant


@pytest.mark.django_db
def test_each_tenant_gets_its_own_chain_starting_at_one(acme, globex, append_events):
    acme_before = AuditEvent.objects.filter(tenant=acme).count()
    append_events(acme, 3)
    append_events(globex, 2)
    acme_seqs = list(AuditEvent.objects.filter(tenant=acme).values_list("seq", flat=True))
    globex_seqs = list(AuditEvent.objects.filter(tenant=globex).values_list("seq", flat=True))
    assert acme_seqs == list(range(1, acme_before + 4))
    assert globex_seqs[0] == 1
    assert globex_seqs == list(range(1, len(globex_seqs) + 1))


@pytest.mark.django_db
def test_every_link_points_at_the_one_before_and_the_head_at_the_last(acme, append_events):
    append_events(acme, 4)
    events = list(AuditEvent.objects.filter(tenant=acme).order_by("seq"))
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    head = AuditChainHead.objects.get(tenant=acme)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)


@pytest.mark.django_db
def test_it_records_the_actor_resource_and_payload_hash_but_not_the_payload(alice, acme):
    event = audit_event_append(
        tenant=acme,
        actor=Actor.for_user(alice),
        action="plan_version.submitted",
        resource=("planversion", 12),
        plan_version=12,
        payload={"objective": "purchases"},
        data={"reason": "Q4"},
    )
    event.refresh_from_db()
    assert (event.actor_type, event.actor_id, event.actor_label) == ("user", str(alice.pk), "alice")
    assert (event.resource_type, event.resource_id, event.plan_version) == ("planversion", "12", 12)
    assert event.payload_hash == sha256_of({"objective": "purchases"})
    assert event.data == {"reason": "Q4"}


@pytest.mark.django_db
def test_data_that_a_json_column_would_change_still_verifies_after_a_round_trip(acme):
    audit_event_append(
        tenant=acme,
        actor=Actor.service("tests"),
        action="odd.values",
        resource=("thing", "x"),
        data={"big": 1e20, "neg_zero": -0.0, "tiny": 1.5e-7, "nul": "a\x00b", "ü": "ß"},
    )
    verdict = audit_chains_verify(tenant=acme)
    assert verdict.ok, verdict.broken
    assert AuditEvent.objects.get(action="odd.values").data["nul"] == "a\ufffdb"


@pytest.mark.django_db
def test_a_model_instance_is_its_own_resource(acme):
    event = audit_event_append(
        tenant=acme, actor=Actor.system(), action="tenant.touched", resource=acme
    )
    assert (event.resource_type, event.resource_id) == ("tenant", str(acme.pk))


@pytest.mark.postgres
@pytest.mark.parametrize("chain", ["existing", "new"], ids=["existing-chain", "first-events"])
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_one_valid_chain_with_no_lost_event(acme, chain):
    if chain == "new":
        # A tenant with no chain head yet: the writers race to create it too.
        acme = Tenant.objects.create(slug="fresh", name="Fresh", vertical="retail", country="DE")
    before = AuditEvent.objects.filter(tenant=acme).count()
    per_thread = 25
    start = threading.Barrier(8)
    errors = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                audit_event_append(
                    tenant=acme,
                    actor=Actor.service(f"writer-{n}"),
                    action="race.append",
                    resource=("race", n),
                    data={"i": i},
                )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(AuditEvent.objects.filter(tenant=acme).values_list("seq", flat=True))
    assert seqs == list(range(1, before + 8 * per_thread + 1))
    assert AuditEvent.objects.filter(action="race.append").count() == 8 * per_thread
    verdict = audit_chains_verify(tenant=acme)
    assert verdict.ok, verdict.broken
    assert verdict.checked == before + 8 * per_thread


@pytest.mark.django_db
def test_appending_many_events_at_once_continues_the_same_chain(acme, append_events):
    append_events(acme, 2)
    before = AuditEvent.objects.filter(tenant=acme).count()
    created = audit_events_append_many(
        tenant=acme,
        actor=Actor.service("sweep"),
        events=[
            {"action": "ticket.escalated", "resource": ("ticket", "T-1"), "data": {"level": 1}},
            {"action": "ticket.escalated", "resource": ("ticket", "T-2"), "plan_version": 4},
        ],
    )
    append_events(acme, 1)
    assert [e.seq for e in created] == [before + 1, before + 2]
    stored = AuditEvent.objects.get(tenant=acme, seq=before + 2)
    assert (stored.resource_id, stored.plan_version, stored.actor_label) == ("T-2", 4, "sweep")
    verdict = audit_chains_verify(tenant=acme)
    assert verdict.ok, verdict.broken
    assert verdict.checked == before + 3


@pytest.mark.django_db
def test_appending_no_events_writes_nothing(acme):
    before = AuditEvent.objects.count()
    assert audit_events_append_many(tenant=acme, actor=Actor.system(), events=[]) == []
    assert AuditEvent.objects.count() == before
