"""The metrics' read indexes now belong to the apps that own the tables and the reads
(Ticket, QcResult and ChangeSet Meta.indexes, created by approvals 0012, agents 0003 and
optimization 0006 under their apps' names): drop the raw-SQL copies 0002 made, so a new
database and an upgraded one end up with the same indexes."""

from django.db import migrations

# As 0002 created them (its reverse puts them back).
INDEXES = {
    "metrics_ticket_created": "approvals_ticket (tenant_id, created_at)",
    "metrics_ticket_approved": "approvals_ticket (tenant_id, resolved_at) WHERE status = 'approved'",
    "metrics_qcresult_created": "agents_qcresult (tenant_id, created_at)",
    "metrics_changeset_created": "optimization_changeset (tenant_id, created_at)",
    "metrics_changeset_applied": (
        "optimization_changeset (tenant_id, applied_at) WHERE status = 'applied'"
    ),
    "metrics_changeset_waiting": (
        "optimization_changeset (tenant_id) WHERE status = 'pending_approval'"
    ),
}


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_read_indexes"),
        ("approvals", "0012_ticket_metrics_read_indexes"),
        ("agents", "0003_qcresult_metrics_read_index"),
        ("optimization", "0006_changeset_metrics_read_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"DROP INDEX IF EXISTS {name}",
            reverse_sql=f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
        )
        for name, definition in INDEXES.items()
    ]
