from django.core.management.base import BaseCommand

from agents.services.rollups import (
    qc_rollups_rebuild,
    qc_rollups_refresh,
    run_rollups_rebuild,
    run_rollups_refresh,
)
from approvals.services.rollups import ticket_rollups_rebuild, ticket_rollups_refresh
from optimization.services.rollups import change_set_rollups_rebuild, change_set_rollups_refresh


class Command(BaseCommand):
    help = (
        "Recount the ops metrics' daily rollups (QC results, runs, tickets, change sets) from "
        "the raw rows: all of them, or with --refresh only the days touched since the last "
        "refresh (what the schedules do)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--refresh", action="store_true", help="only the days touched")

    def handle(self, *args, **options):
        if options["refresh"]:
            refreshes = [
                qc_rollups_refresh(),
                run_rollups_refresh(),
                ticket_rollups_refresh(),
                change_set_rollups_refresh(),
            ]
        else:
            refreshes = [
                qc_rollups_rebuild(),
                run_rollups_rebuild(),
                ticket_rollups_rebuild(),
                change_set_rollups_rebuild(),
            ]
        for refresh in refreshes:
            self.stdout.write(refresh.line())
