from django.core.management.base import BaseCommand, CommandError

from optimization.services import triggers_scan
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Run the revise-trigger scan once, now: one line per signal type with counts."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's tracks (its slug)")

    def handle(self, *args, tenant=None, **options):
        scope = None
        if tenant:
            scope = Tenant.objects.filter(slug=tenant).first()
            if scope is None:
                raise CommandError(f"No tenant {tenant!r}.")
        for line in triggers_scan(tenant=scope).lines():
            self.stdout.write(line)
