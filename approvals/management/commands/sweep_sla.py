from django.core.management.base import BaseCommand

from approvals.sweep import ticket_sla_sweep


class Command(BaseCommand):
    help = "Mark overdue open tickets, escalate each once per breach (to admin) and mail admins."

    def handle(self, *args, **options):
        result = ticket_sla_sweep()
        self.stdout.write(f"escalated: {result.escalated}")
        self.stdout.write(f"tenants: {result.tenants}")
        self.stdout.write(f"mails: {result.mails}")
        if result.failed_tenants:
            # Exit 0 all the same (docs/agent-api.md): the next sweep retries those tenants.
            self.stdout.write(f"failed tenants: {result.failed_tenants} (see the log)")
