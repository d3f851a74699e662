"""The inbox search reads one stored, upper-cased column instead of six fields (issue 21 item 3).

Ticket.search_text is the searched fields upper-cased and joined by a newline, kept by the database
(a stored generated column: every writer, bulk inserts included, fills it). One GIN trigram index on
it, on PostgreSQL only as in 0007, takes the place of 0007's six: a search for a piece of a public
id still finds its tickets from the index, and a word in nearly every ticket (which no index
narrows) costs one comparison per row read instead of an UPPER() of each of six fields.

Adding a stored generated column rewrites the table once (100,000 tickets: seconds).
"""

import importlib

import django.db.models.functions.text
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models

# 0007's indexes, one per searched field.
FIELD_INDEXES = ("public_id", "title", "summary", "run_id", "change_set_id", "subject_id")


def search_text_index() -> GinIndex:
    return GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="ticket_search_text")


def use_search_text_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for field in FIELD_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS ticket_search_{field}")
    schema_editor.add_index(apps.get_model("approvals", "Ticket"), search_text_index())


def use_field_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = importlib.import_module("approvals.migrations.0007_ticket_search_trigram")
    Ticket = apps.get_model("approvals", "Ticket")
    schema_editor.remove_index(Ticket, search_text_index())
    for index in previous.search_indexes():
        schema_editor.add_index(Ticket, index)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0016_escalationmail"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                editable=False,
                expression=django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Concat(
                        "public_id",
                        models.Value("\n"),
                        "title",
                        models.Value("\n"),
                        "summary",
                        models.Value("\n"),
                        "run_id",
                        models.Value("\n"),
                        "change_set_id",
                        models.Value("\n"),
                        "subject_id",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(use_search_text_index, use_field_indexes),
    ]
