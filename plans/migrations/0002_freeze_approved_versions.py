"""Approved plan versions are immutable in the database itself (docs/rules.md "Plans, tracks and
versions"): an approved row may only become superseded (status + superseded_at/by), a superseded
row can't change at all, and neither can be deleted. Same triggers on PostgreSQL and SQLite."""

from django.db import migrations

from audit.dbguards import install_guards, remove_guards

TABLE = "plans_planversion"
# Columns an approved row keeps for ever; approved → superseded may touch only status,
# superseded_at, superseded_by and updated_at.
FROZEN_COLUMNS = (
    "tenant_id",
    "track_id",
    "number",
    "kind",
    "parent_id",
    "payload",
    "payload_hash",
    "path",
    "path_reason",
    "trigger",
    "reason",
    "master_change",
    "remaining_delta",
    "created_at",
    "created_by",
    "submitted_at",
    "submitted_by",
    "approved_at",
    "approved_by",
    "rejected_at",
    "rejected_by",
)
UPDATE_REFUSED_WHEN = (
    "OLD.status = 'superseded' OR (OLD.status = 'approved' AND (NEW.status <> 'superseded' OR "
    + " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_COLUMNS)
    + "))"
)
DELETE_REFUSED_WHEN = "OLD.status IN ('approved', 'superseded')"
FROZEN = {"table": TABLE, "name": "plan_version_frozen", "operations": ("UPDATE",)}
KEPT = {"table": TABLE, "name": "plan_version_kept", "operations": ("DELETE",)}


def forwards(apps, schema_editor):
    install_guards(
        schema_editor.connection,
        message="an approved plan version is immutable: only approved to superseded is allowed",
        when_old=UPDATE_REFUSED_WHEN,
        **FROZEN,
    )
    install_guards(
        schema_editor.connection,
        message="approved and superseded plan versions are kept for ever: DELETE is refused",
        when_old=DELETE_REFUSED_WHEN,
        **KEPT,
    )


def backwards(apps, schema_editor):
    remove_guards(schema_editor.connection, **FROZEN)
    remove_guards(schema_editor.connection, **KEPT)


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
