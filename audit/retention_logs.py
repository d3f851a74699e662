"""Retention of the other monthly-partitioned tables (audit/partitions.py): the gate log, QC
results, performance rows, applied changes and change-set events. Same command, same rule as
the audit log (`manage.py audit_retention`, audit/retention.py; docs/scale.md "Partitions"):

- a month leaves when every tenant with rows in it has kept them for its
  Tenant.audit_retention_years (7 by default) from the month's end, oldest month first (a month
  stays while an older one does); an empty month once it is older than the shortest retention
  of any tenant (a late row of a month that left would land in the DEFAULT partition);
- never silently: the rows go to a write-once CSV file (gzip) beside a manifest naming the
  table, the month, the rows per tenant and the file's SHA-256; then, in one transaction, one
  `log_partition.archived` event in each tenant's chain carrying that digest (so the signed
  checkpoints over the chain vouch for the archive), DETACH PARTITION and DROP TABLE.

These tables have no chain of their own, so nothing in the database points at what left; the
change sets, runs and tracks their rows belonged to stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.partitions import PARTITIONED, Partition, partitions_of
from audit.retention import _years_after, archive_files, copy_gzipped, detach_and_drop
from audit.services import audit_event_append
from tenants.models import Tenant

# table -> how a row's tenant is found: its own column, or through the row it belongs to.
TENANT_OF = {
    "agents_gatecall": ("t.tenant_id", "JOIN agents_agentrun t ON t.id = p.run_id"),
    "agents_qcresult": ("p.tenant_id", ""),
    "optimization_appliedchange": ("p.tenant_id", ""),
    "optimization_changesetevent": (
        "t.tenant_id",
        "JOIN optimization_changeset t ON t.id = p.change_set_id",
    ),
    "optimization_performancerow": ("p.tenant_id", ""),
}
assert set(TENANT_OF) == set(PARTITIONED) - {"audit_auditevent"}


@dataclass(frozen=True)
class TenantRows:
    tenant: Tenant
    rows: int
    keep_until: datetime


@dataclass
class LogRetentionItem:
    partition: Partition
    tenants: list[TenantRows] = field(default_factory=list)
    due: bool = False
    reason: str = ""

    def line(self) -> str:
        p = self.partition
        head = f"{p.name} ({p.start:%Y-%m}, {p.rows} rows, {len(self.tenants)} tenants)"
        return f"{head}: {'detach' if self.due else 'keep'}: {self.reason}"


def _tenant_rows(table: str, partition: Partition) -> list[TenantRows]:
    tenant_column, join = TENANT_OF[table]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {tenant_column}, count(*) FROM "{partition.name}" p {join} '
            "GROUP BY 1 ORDER BY 1"
        )
        counts = cursor.fetchall()
    tenants = Tenant.objects.in_bulk([tenant_id for tenant_id, _ in counts])
    return [
        TenantRows(
            tenants[tenant_id],
            rows,
            _years_after(partition.end, tenants[tenant_id].audit_retention_years),
        )
        for tenant_id, rows in counts
    ]


def log_retention_plan(now: datetime | None = None) -> list[LogRetentionItem]:
    """Every ended month of every table, oldest first per table, with whether it may leave now
    and why (the dry run prints exactly this)."""
    now = now or timezone.now()
    shortest = Tenant.objects.aggregate(years=Min("audit_retention_years"))["years"]
    shortest = shortest or Tenant._meta.get_field("audit_retention_years").default
    plan = []
    for table in TENANT_OF:
        blocked = ""
        for partition in partitions_of(table, count_rows=True):
            if partition.is_default or partition.end > now:
                continue
            item = LogRetentionItem(partition, _tenant_rows(table, partition))
            young = [t for t in item.tenants if t.keep_until > now]
            if blocked:
                item.reason = f"an older partition stays ({blocked})"
            elif young:
                first = min(young, key=lambda t: t.keep_until)
                item.reason = (
                    f"tenant {first.tenant.slug} keeps its rows until "
                    f"{first.keep_until:%Y-%m-%d} ({first.tenant.audit_retention_years} years)"
                )
            elif not item.tenants and _years_after(partition.end, shortest) > now:
                item.reason = f"empty, younger than the shortest retention ({shortest} years)"
            else:
                item.due = True
                item.reason = "older than every tenant's retention in it"
            if not item.due:
                blocked = blocked or partition.name
            plan.append(item)
    return plan


def _rows_csv(partition: Partition) -> bytes:
    return copy_gzipped(
        f'COPY (SELECT * FROM "{partition.name}" ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)'
    )


@transaction.atomic(durable=True)
def log_partition_archive(item: LogRetentionItem, *, actor: Actor) -> Path:
    """Archive one due month of a table (log_retention_plan) and take it out of the database;
    returns the manifest's path."""
    partition = item.partition
    rows_file, digest, manifest_path = archive_files(
        partition,
        _rows_csv(partition),
        format="human-touch-log-archive/1",
        tenants=[
            {"tenant": t.tenant.slug, "tenant_id": t.tenant.pk, "rows": t.rows}
            for t in item.tenants
        ],
    )
    for t in item.tenants:
        audit_event_append(
            tenant=t.tenant,
            actor=actor,
            action=AuditAction.LOG_PARTITION_ARCHIVED,
            resource=("log_partition", partition.name),
            data={
                "table": partition.table,
                "month": f"{partition.start:%Y-%m}",
                "rows": t.rows,
                "file": rows_file.name,
                "sha256": digest,
            },
        )
    detach_and_drop(partition)
    return manifest_path
