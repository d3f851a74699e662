from django.db import migrations

from audit.dbguards import install_guards, remove_guards

GUARD = {"table": "audit_auditevent", "name": "audit_append_only"}


def forwards(apps, schema_editor):
    install_guards(
        schema_editor.connection,
        message="audit_auditevent is append-only: UPDATE, DELETE and TRUNCATE are refused",
        truncate=True,
        **GUARD,
    )


def backwards(apps, schema_editor):
    remove_guards(schema_editor.connection, **GUARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
