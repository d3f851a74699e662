import sys

from django.core.management.base import BaseCommand, CommandError

from audit.verify import audit_chains_verify, describe_break
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Recompute every tenant's audit hash chain. Prints 'ok: N events' and exits 0, or "
        "names the first broken event and exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's chain (slug)")

    def handle(self, *args, tenant=None, **options):
        tenant_obj = None
        if tenant:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant with slug {tenant!r}")
        verdict = audit_chains_verify(tenant=tenant_obj)
        if verdict.ok:
            self.stdout.write(f"ok: {verdict.checked} events")
            return
        self.stdout.write(describe_break(verdict.broken))
        self.stdout.flush()
        sys.exit(1)
