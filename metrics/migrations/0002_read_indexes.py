"""The indexes the metrics' range reads need on the tables they read (owned by other apps, which
never query by these columns themselves): each metric reads one tenant's rows of a date range,
and without them every page of a year of data scanned 100,000 tickets, 1,000,000 QC results
and every change set (bench/metrics.py). Plain SQL both engines accept, so the domain apps'
models and migrations stay as their owners left them."""

from django.db import migrations

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
        ("metrics", "0001_initial"),
        ("approvals", "0008_ticket_requested_by"),
        ("agents", "0002_agentrun_gatecall_qcalert_qcloop_qcresult_and_more"),
        ("optimization", "0003_append_only_log"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
