from django.db import migrations


def drop_client_rows_of_internal_tickets(apps, schema_editor):
    """A ticket the client can't see never waits for the client (an internal A4's "admin/client"
    slot is the admin's alone): its "my queue" rows for the client go."""
    TicketWaitingRole = apps.get_model("approvals", "TicketWaitingRole")
    TicketWaitingRole.objects.filter(role="client", ticket__client_visible=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0008_ticket_requested_by"),
    ]

    operations = [
        migrations.RunPython(drop_client_rows_of_internal_tickets, migrations.RunPython.noop),
    ]
