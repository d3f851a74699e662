import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0009_internal_tickets_never_wait_for_the_client"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="cancelled_by",
            field=models.ForeignKey(
                blank=True,
                help_text="the ticket whose outcome withdrew this one",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="cancelled_tickets",
                to="approvals.ticket",
            ),
        ),
    ]
