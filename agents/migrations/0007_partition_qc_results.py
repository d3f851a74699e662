"""agents_qcresult (QC verdicts) partitioned by month on `created_at` (PostgreSQL;
audit/partitions.py). Django's state is unchanged: `id` stays the primary key there; in the
database it is (id, created_at). Rows are copied over; ids keep their sequence."""

from django.db import migrations

from audit.partitions import table_partition_by_month


def forwards(apps, schema_editor):
    table_partition_by_month(schema_editor, table="agents_qcresult", unique={}, keep_triggers=True)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0006_run_rollups"),
        ("audit", "0004_partition_audit_events"),
    ]

    # Backwards: the partitioned table stays (Django's state never changed).
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
