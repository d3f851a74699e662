from django.core.management.base import BaseCommand

from agents.services.rollups import qc_rollups_rebuild, qc_rollups_refresh


class Command(BaseCommand):
    help = (
        "Recount the ops metrics' daily rollups (QC results) from the raw rows: all of them, or "
        "with --refresh only the days touched since the last refresh (what the schedule does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--refresh", action="store_true", help="only the days touched")

    def handle(self, *args, **options):
        refresh = qc_rollups_refresh() if options["refresh"] else qc_rollups_rebuild()
        self.stdout.write(refresh.line())
