from django.core.management.base import BaseCommand, CommandError

from optimization.services.reconcile import reconcile
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Compare platform observations with the manifest once, now; opens one A6 per difference."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's entities (its slug)")

    def handle(self, *args, tenant=None, **options):
        scope = None
        if tenant:
            scope = Tenant.objects.filter(slug=tenant).first()
            if scope is None:
                raise CommandError(f"No tenant {tenant!r}.")
        for line in reconcile(tenant=scope).lines():
            self.stdout.write(line)
