"""The database itself refuses to change or remove audit rows (migration 0002): its triggers
refuse even the tables' owner (tests/dbroles.py), and the application role is refused before
them, by its grants (tests/audit/test_db_roles.py)."""

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit.models import AuditEvent
from tests.dbroles import owner_cursor


@pytest.fixture
def event(acme, append_events):
    return append_events(acme, 1)[0]


def refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(caught.value)


def refused_to_owner(sql: str, params=()) -> str:
    """The statement as the tables' owner (whose grants allow it): only a trigger refuses it."""
    with pytest.raises((DatabaseError, psycopg.Error)) as caught, owner_cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_update_of_an_audit_row(event):
    message = refused_to_owner(
        "UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [event.pk]
    )
    assert "append-only" in message
    assert AuditEvent.objects.get(pk=event.pk).action == "ticket.noted"


@pytest.mark.django_db
def test_the_database_refuses_an_orm_update_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "tests"


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_delete_of_an_audit_row(event):
    message = refused_to_owner("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert "append-only" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_the_database_refuses_deleting_every_audit_row(event):
    refused("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_truncating_the_audit_table(event):
    message = refused_to_owner("TRUNCATE audit_auditevent CASCADE")
    assert "append-only" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_the_database_refuses_a_second_event_at_the_same_place_in_a_tenants_chain(event):
    # The backstop of docs/rules.md's UNIQUE(tenant, seq): a writer that skipped the head lock
    # can't fork the chain.
    fork = {
        field.attname: getattr(event, field.attname)
        for field in AuditEvent._meta.concrete_fields
        if not field.primary_key
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(**{**fork, "action": "ticket.forked"})
    at_that_place = AuditEvent.objects.filter(tenant=event.tenant_id, seq=event.seq)
    assert list(at_that_place.values_list("action", flat=True)) == ["ticket.noted"]
