"""agents_gatecall (the gate log) partitioned by month on `at` (PostgreSQL; audit/partitions.py).
Django's state is unchanged: `id` stays the primary key there; in the database it is (id, at)."""

from django.db import migrations

from audit.partitions import table_partition_by_month


def forwards(apps, schema_editor):
    table_partition_by_month(schema_editor, table="agents_gatecall", unique={})


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0003_qcresult_metrics_read_index"),
        ("audit", "0004_partition_audit_events"),
    ]

    # Backwards: the partitioned table stays (Django's state never changed).
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
