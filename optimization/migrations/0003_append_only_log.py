"""The optimization log is append-only in the database itself (docs/rules.md "Execution and
optimization"): items, log events and applied changes can't be edited or deleted; a change set
can't be deleted, only a change set waiting for approval may change, and then only its outcome
(status, reason, ticket, decided/applied times). Same triggers on PostgreSQL and SQLite."""

from django.db import migrations

from audit.dbguards import install_guards, remove_guards

APPEND_ONLY = [
    ("optimization_changesetitem", "change_set_item_append_only"),
    ("optimization_changesetevent", "change_set_event_append_only"),
    ("optimization_appliedchange", "applied_change_append_only"),
]
OUTCOME_COLUMNS = ("status", "status_reason", "ticket", "decided_at", "applied_at")
REQUEST_COLUMNS = (
    "tenant_id",
    "change_set_id",
    "track_id",
    "run_id",
    "agent",
    "reason",
    "kind",
    "path",
    "guardrails",
    "reverts_id",
    "created_by",
    "created_at",
)
CHANGE_SET_UPDATE_REFUSED = (
    "OLD.status <> 'pending_approval' OR "
    + " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in REQUEST_COLUMNS)
)
CHANGE_SET_FROZEN = {
    "table": "optimization_changeset",
    "name": "change_set_frozen",
    "operations": ("UPDATE",),
}
CHANGE_SET_KEPT = {
    "table": "optimization_changeset",
    "name": "change_set_kept",
    "operations": ("DELETE",),
}


def forwards(apps, schema_editor):
    for table, name in APPEND_ONLY:
        install_guards(
            schema_editor.connection,
            table=table,
            name=name,
            message="the optimization log is append-only: UPDATE and DELETE are refused",
        )
    install_guards(
        schema_editor.connection,
        message="a change set is never edited: only one waiting for approval gets its outcome",
        when_old=CHANGE_SET_UPDATE_REFUSED,
        **CHANGE_SET_FROZEN,
    )
    install_guards(
        schema_editor.connection,
        message="change sets are kept for ever: DELETE is refused",
        **CHANGE_SET_KEPT,
    )


def backwards(apps, schema_editor):
    for table, name in APPEND_ONLY:
        remove_guards(schema_editor.connection, table=table, name=name)
    remove_guards(schema_editor.connection, **CHANGE_SET_FROZEN)
    remove_guards(schema_editor.connection, **CHANGE_SET_KEPT)


class Migration(migrations.Migration):
    dependencies = [("optimization", "0002_executionmanifestentry_first_active_at_changeset_and_more")]

    operations = [migrations.RunPython(forwards, backwards)]
