"""Trigram indexes for the inbox search, on PostgreSQL only (on SQLite this does nothing).

The search (approvals/filters.py) matches each word, in any case, anywhere in six fields, OR'd;
Django writes each branch as UPPER("field"::text) LIKE UPPER('%word%'). A GIN trigram index on
UPPER(field), the very expression of the query, serves a branch, and PostgreSQL ORs the six
(BitmapOr): a search reads the tickets that match rather than every ticket of every tenant. A
fragment of a public id in an admin's inbox of 100,000 tickets: the two queries of the page went
from ~150 ms to ~5 ms (bench/inbox.py). A word of one or two characters has no trigram, and a word
in nearly every ticket narrows nothing: such searches still read every open ticket, as before.

Every searched field needs its index: with one branch unserved the planner reads the table. They
are not in Ticket.Meta, whose indexes are made on every database, and SQLite has no GIN. pg_trgm
is a trusted extension (PostgreSQL 13+): the owner of the database may create it. OpClass in an
index needs django.contrib.postgres in INSTALLED_APPS.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

# approvals.filters.SEARCH_FIELDS as it stood when this was written.
SEARCHED_FIELDS = ("public_id", "title", "summary", "run_id", "change_set_id", "subject_id")


class TrigramExtensionOnPostgreSQL(TrigramExtension):
    """Django's TrigramExtension skips other databases going forwards, not backwards."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def search_indexes() -> list[GinIndex]:
    return [
        GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=f"ticket_search_{field}")
        for field in SEARCHED_FIELDS
    ]


def add_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Ticket = apps.get_model("approvals", "Ticket")
    for index in search_indexes():
        schema_editor.add_index(Ticket, index)


def remove_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Ticket = apps.get_model("approvals", "Ticket")
    for index in search_indexes():
        schema_editor.remove_index(Ticket, index)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0006_ticket_waiting_role")]

    operations = [
        TrigramExtensionOnPostgreSQL(),
        migrations.RunPython(add_search_indexes, remove_search_indexes),
    ]
