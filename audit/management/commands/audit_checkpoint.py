import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import audit_checkpoint_all
from audit.tlog import SignerKey
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Sign each tenant's audit chain head as a C2SP checkpoint (signed note) in the "
        "append-only store, if the chain grew since its last checkpoint. One line per tenant; "
        "exits 1 if a chain no longer contains its last checkpoint (it is then not signed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's chain (slug)")
        parser.add_argument(
            "--new-key",
            nargs="?",
            const=settings.AUDIT_KEY_NAME,
            metavar="NAME",
            help="print a new signing key (for AUDIT_SIGNING_KEY) and its verifier key; "
            "signs nothing",
        )

    def handle(self, *args, tenant=None, new_key=None, **options):
        if new_key:
            signer = SignerKey.generate(new_key)
            self.stdout.write(f"AUDIT_SIGNING_KEY={signer}")
            self.stdout.write(f"verifier key: {signer.verifier}")
            return
        tenant_obj = None
        if tenant:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant with slug {tenant!r}")
        outcomes = audit_checkpoint_all(tenant=tenant_obj)
        for outcome in outcomes:
            self.stdout.write(outcome.line())
        if any(outcome.status == "refused" for outcome in outcomes):
            self.stdout.flush()
            sys.exit(1)
