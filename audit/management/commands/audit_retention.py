"""`manage.py audit_retention [--dry-run]`: audit partitions past every tenant's retention go to
archive files with their checkpoints (audit/retention.py), and so do the months of the other
partitioned tables, each with an audit event per tenant (audit/retention_logs.py)."""

from __future__ import annotations

import contextlib

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.actors import Actor
from audit.checkpoints import audit_checkpoints_verify
from audit.retention import partition_archive, retention_plan
from audit.retention_logs import log_partition_archive, log_retention_plan
from audit.verify import audit_chains_verify, describe_break

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


@contextlib.contextmanager
def _as_owner():
    """DETACH and DROP need the tables' owner (audit/dbroles.py): the default connection acts
    as it meanwhile, when DATABASE_OWNER_URL is set."""
    owner_url = getattr(settings, "DATABASE_OWNER_URL", "")
    if not owner_url or connection.vendor != "postgresql":
        yield
        return
    owner = dj_database_url.parse(owner_url)
    app = {key: connection.settings_dict[key] for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in CREDENTIALS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(app)


class Command(BaseCommand):
    help = (
        "Archive the audit log's monthly partitions that every tenant in them has kept for its "
        "retention: rows to a write-once file with a signed checkpoint per tenant, an audit "
        "event in each tenant's chain, then DETACH and DROP; the months of the other partitioned "
        "tables (gate log, QC results, performance rows, applied changes, change-set events) "
        "likewise, to a file with its digest in each tenant's chain. --dry-run lists what it "
        "would do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args, dry_run=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("audit retention needs PostgreSQL's partitions (docs/scale.md)")
        with _as_owner():
            plan, logs = retention_plan(), log_retention_plan()
            for item in [*plan, *logs]:
                self.stdout.write(("would " if dry_run else "") + item.line())
            due = [item for item in plan if item.due]
            logs_due = [item for item in logs if item.due]
            if not due and not logs_due:
                self.stdout.write("nothing to archive")
                return
            if dry_run:
                self.stdout.write(f"dry run: {len(due)} partitions would be archived")
                if logs_due:
                    self.stdout.write(f"dry run: {len(logs_due)} log partitions would be archived")
                return
            verdict = audit_chains_verify()
            if not verdict.ok:
                raise CommandError(f"nothing archived: {describe_break(verdict.broken)}")
            _checked, broken = audit_checkpoints_verify()
            if broken is not None:
                raise CommandError(f"nothing archived: {broken.line()}")
            actor = Actor.system("audit_retention")
            for item in due:
                manifest = partition_archive(item, actor=actor)
                self.stdout.write(f"archived {item.partition.name}: {manifest}")
            for item in logs_due:
                manifest = log_partition_archive(item, actor=actor)
                self.stdout.write(f"archived {item.partition.name}: {manifest}")
