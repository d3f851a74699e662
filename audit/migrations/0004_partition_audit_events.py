"""audit_auditevent partitioned by month (PostgreSQL; audit/partitions.py). Django's state is
unchanged: `id` stays the primary key there; in the database it is (id, created_at), and the
chain's uniqueness is (tenant_id, seq, created_at) — the head's row lock is what keeps a seq
single, and verify_audit finds a repeated one."""

from django.db import migrations

from audit.dbguards import install_guards
from audit.partitions import table_partition_by_month

TABLE = "audit_auditevent"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table_partition_by_month(
        schema_editor, table=TABLE, unique={"audit_unique_tenant_seq": ["tenant_id", "seq"]}
    )
    # The dropped table's triggers went with it: the parent's row triggers are cloned onto every
    # partition; the TRUNCATE trigger of each partition comes from ht_partitions_ensure.
    install_guards(
        schema_editor.connection,
        table=TABLE,
        name="audit_append_only",
        message="audit_auditevent is append-only: UPDATE, DELETE and TRUNCATE are refused",
        truncate=True,
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT ht_partitions_ensure(%s, 3)", [TABLE])


class Migration(migrations.Migration):
    atomic = True
    dependencies = [("audit", "0003_chain_head_prev_hash")]

    # Backwards: the partitioned table stays (Django's state never changed).
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
