import sys

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import audit_checkpoints_verify
from audit.verify import audit_chains_verify, describe_break
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Recompute every tenant's audit hash chain and check it against every signed "
        "checkpoint. Prints 'ok: N events' (and 'ok: M checkpoints') and exits 0, or names the "
        "first broken event, or the first checkpoint the chain no longer contains, and exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's chain (slug)")
        parser.add_argument(
            "--no-checkpoints",
            action="store_true",
            help="only the chain itself, not the signed checkpoints",
        )

    def handle(self, *args, tenant=None, no_checkpoints=False, **options):
        tenant_obj = None
        if tenant:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant with slug {tenant!r}")
        verdict = audit_chains_verify(tenant=tenant_obj)
        if not verdict.ok:
            self.stdout.write(describe_break(verdict.broken))
            self.stdout.flush()
            sys.exit(1)
        checked, broken = 0, None
        if not no_checkpoints:
            checked, broken = audit_checkpoints_verify(tenant=tenant_obj)
        if broken is not None:
            self.stdout.write(broken.line())
            self.stdout.flush()
            sys.exit(1)
        self.stdout.write(f"ok: {verdict.checked} events")
        if checked:
            self.stdout.write(f"ok: {checked} checkpoints")
