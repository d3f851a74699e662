"""audit_event_append: one link per call, per-tenant chains, safe under concurrent writers."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.actors import Actor
from audit.chain import GENESIS_HASH, sha256_of
from audit.models import AuditChainHead, AuditEvent
from audit.services import FEW_EVENTS, audit_event_append, audit_events_append_many
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


@pytest.mark.postgres
@pytest.mark.parametrize("chain", ["existing", "new"], ids=["existing-chain", "first-events"])
@pytest.mark.django_db(transaction=True)
def test_writers_of_one_a_few_and_many_events_at_once_leave_one_valid_chain(acme, chain):
    """The three ways in: one event (hashed in the database), a few in one statement (hashed in
    the database, each on the one before) and a batch COPY'd (hashed in Python), racing."""
    if chain == "new":
        acme = Tenant.objects.create(slug="fresh", name="Fresh", vertical="retail", country="DE")
    before = AuditEvent.objects.filter(tenant=acme).count()
    sizes = {"one": 1, "few": 3, "many": FEW_EVENTS + 4}
    rounds = 6
    start = threading.Barrier(6)
    errors = []

    def writer(n: int, how: str) -> None:
        try:
            start.wait()
            for i in range(rounds):
                with transaction.atomic():
                    if how == "one":
                        audit_event_append(
                            tenant=acme,
                            actor=Actor.service(f"writer-{n}"),
                            action="race.append",
                            resource=("race", n),
                            data={"i": i},
                        )
                        continue
                    audit_events_append_many(
                        tenant=acme,
                        actor=Actor.service(f"writer-{n}"),
                        events=[
                            {"action": "race.append", "resource": ("race", n), "data": {"i": j}}
                            for j in range(sizes[how])
                        ],
                    )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    writers = [(n, how) for n, how in enumerate(["one", "few", "many"] * 2)]
    threads = [threading.Thread(target=writer, args=args) for args in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    written = rounds * sum(sizes[how] for _, how in writers)
    seqs = list(AuditEvent.objects.filter(tenant=acme).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, before + written + 1))
    assert AuditEvent.objects.filter(action="race.append").count() == written
    verdict = audit_chains_verify(tenant=acme)
    assert verdict.ok, verdict.broken
    assert verdict.checked == before + written


@pytest.mark.django_db
def test_a_few_events_at_once_come_back_with_their_ids_in_one_statement(acme, append_events):
    append_events(acme, 1)
    with CaptureQueriesContext(connection) as statements:
        created = audit_events_append_many(
            tenant=acme,
            actor=Actor.service("optimizer"),
            events=[
                {"action": "change_set.proposed", "resource": ("changeset", "cs-1")},
                {"action": "change_set.applied", "resource": ("changeset", "cs-1")},
            ],
        )
    if connection.vendor == "postgresql":
        assert len(statements) == 1, [q["sql"][:80] for q in statements.captured_queries]
    stored = list(AuditEvent.objects.filter(resource_id="cs-1").order_by("seq"))
    assert [(e.id, e.seq, e.hash) for e in created] == [(e.id, e.seq, e.hash) for e in stored]
    assert [e.action for e in stored] == ["change_set.proposed", "change_set.applied"]
    assert stored[1].prev_hash == stored[0].hash
    assert audit_chains_verify(tenant=acme).ok


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
@pytest.mark.parametrize("count", [3, FEW_EVENTS + 2], ids=["few-in-one-statement", "copied"])
def test_bulk_events_with_awkward_text_and_values_store_as_returned_and_verify(acme, count):
    """The bulk append writes COPY text itself (or, for a few events, hashes them in the
    database): tabs, newlines, backslashes, quotes, NULs and non-ASCII in any field, dates and
    Decimals in the data, all hash to what is stored."""
    import datetime as dt
    from decimal import Decimal

    awkward = 'tab\there\nnew "quoted" back\\slash \\N nul\x00 é ✓ \ud800'
    created = audit_events_append_many(
        tenant=acme,
        actor=Actor.service(f"bulk {awkward}"),
        events=[
            {
                "action": "ticket.escalated",
                "resource": ("ticket", f"T-{n}\t{awkward[:20]}"),
                "plan_version": n or None,
                "payload": {"n": n, "text": awkward},
                "data": {
                    "text": awkward,
                    awkward: [1, 2.5, -0.0, 1e20, None, True],
                    "at": dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
                    "amount": Decimal("12.50"),
                    "nested": {"list": [{"deep": "\\"}]},
                },
            }
            for n in range(count)
        ],
    )
    stored = list(AuditEvent.objects.filter(tenant=acme).order_by("-seq")[:count])[::-1]
    for kept, returned in zip(stored, created, strict=True):
        for name in ("seq", "actor_label", "action", "resource_id", "plan_version"):
            assert getattr(kept, name) == getattr(returned, name), name
        assert (kept.payload_hash, kept.data) == (returned.payload_hash, returned.data)
        assert (kept.prev_hash, kept.hash, kept.created_at) == (
            returned.prev_hash,
            returned.hash,
            returned.created_at,
        )
    assert "\t" in stored[0].resource_id and "\ufffd" in stored[0].data["text"]
    assert stored[0].data["amount"] == "12.50" and stored[0].plan_version is None
    verdict = audit_chains_verify(tenant=acme)
    assert verdict.ok, verdict.broken


@pytest.mark.django_db
def test_a_bulk_event_with_an_unknown_keyword_is_refused_before_anything_is_written(acme):
    before = AuditEvent.objects.filter(tenant=acme).count()
    with pytest.raises(TypeError):
        audit_events_append_many(
            tenant=acme,
            actor=Actor.system(),
            events=[{"action": "x", "resource": ("ticket", "1"), "colour": "red"}],
        )
    assert AuditEvent.objects.filter(tenant=acme).count() == before


@pytest.mark.django_db
def test_appending_no_events_writes_nothing(acme):
    before = AuditEvent.objects.count()
    assert audit_events_append_many(tenant=acme, actor=Actor.system(), events=[]) == []
    assert AuditEvent.objects.count() == before
