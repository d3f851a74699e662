"""Leave room on each page of the ticket table (PostgreSQL fillfactor 85).

The SLA sweep updates only unindexed columns (overdue/escalation fields), so with free space
on the page PostgreSQL writes those updates as HOT updates: no new entry in any of the ticket
indexes, which is most of the cost of escalating 100,000 tickets in one statement.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE approvals_ticket SET (fillfactor = 85)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE approvals_ticket RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
