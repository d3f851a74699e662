"""Monthly partitions (PostgreSQL; audit/partitions.py, docs/scale.md "Partitions") of three
tables of the optimization app that grow with activity, rows copied over:

- optimization_performancerow on `date` (the day reported, part of its unique key, so the
  upsert's ON CONFLICT (track, date, channel, source) works unchanged);
- optimization_appliedchange on `applied_at`; its foreign key to the change-set item stays (the
  items are not partitioned: docs/scale.md says why);
- optimization_changesetevent on `at`.

The append-only triggers of migration 0003 are put back on the new parents, and PostgreSQL
clones them onto every partition, present and future. Django's state is unchanged: `id` stays
the primary key there; in the database it is (id, key)."""

from django.db import migrations

from audit.partitions import table_partition_by_month


def forwards(apps, schema_editor):
    table_partition_by_month(
        schema_editor,
        table="optimization_performancerow",
        unique={"performance_row_unique": ["track_id", "date", "channel", "source"]},
        keep_triggers=True,
    )
    for table in ("optimization_appliedchange", "optimization_changesetevent"):
        table_partition_by_month(schema_editor, table=table, unique={}, keep_triggers=True)


class Migration(migrations.Migration):
    dependencies = [
        ("optimization", "0016_change_set_rollups"),
        ("audit", "0004_partition_audit_events"),
    ]

    # Backwards: the partitioned tables stay (Django's state never changed).
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
