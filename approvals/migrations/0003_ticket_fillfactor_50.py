"""Fillfactor 50 for the ticket table on PostgreSQL (0002 set 85, measured too little).

A ticket row is ~250 bytes, so 85% left room for only a few updated versions per page and
most escalations were still non-HOT (a new entry in each of the table's indexes: 11 WAL
records per row). With half of each page free, the sweep's update of unindexed columns stays
on the page: 100,000 escalations went from 6.7 s to 1.9 s (bench/sweep_sla.py). Tickets are
few next to audit rows and are updated a handful of times in their life, so the space is cheap.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE approvals_ticket SET (fillfactor = 50)")


def back_to_85(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE approvals_ticket SET (fillfactor = 85)")


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_ticket_fillfactor")]

    operations = [migrations.RunPython(set_fillfactor, back_to_85)]
