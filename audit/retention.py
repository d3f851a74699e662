"""Retention of the audit log (`manage.py audit_retention`; docs/scale.md "Partitions").

A monthly partition of audit_auditevent (audit/partitions.py) leaves the database when every
tenant with rows in it has kept them for its retention (Tenant.audit_retention_years, 7 by
default), counted from the end of the month — never silently:

1. every chain and every checkpoint verifies first (nothing is archived from a broken chain);
2. the partition's rows go to a write-once archive file (CSV, gzip) beside a manifest naming, per
   tenant, the stretch of its chain it holds, the last link's hash, the Merkle tree up to it and
   a checkpoint signed at that size (the key of audit/checkpoints.py): the archive verifies on
   its own, and against any earlier checkpoint the tenant downloaded;
3. in one transaction: an AuditArchive row per tenant (where its chain now starts in the
   database: verify_audit and the checkpoint check continue from there), one
   `audit_partition.archived` event in each tenant's chain, DETACH PARTITION and DROP TABLE.

Partitions leave oldest first, and only as a contiguous start of each tenant's chain. DETACH and
DROP need the tables' owner: the command runs as it when DATABASE_OWNER_URL is set (as migrate
does). The DEFAULT partition never leaves.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import archive_tree, origin_of, signing_key
from audit.models import AuditArchive
from audit.partitions import Partition, partitions_of
from audit.services import audit_event_append
from audit.tlog import Checkpoint, checkpoint_sign
from tenants.models import Tenant

TABLE = "audit_auditevent"
# The columns of verify_audit's read (audit/verify.py), times as the link hash writes them.
_ARCHIVE_COLUMNS = (
    "id, seq, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
    "AS created_at, prev_hash, hash, tenant_id, actor_type, actor_id, actor_label, action, "
    "resource_type, resource_id, plan_version, payload_hash, data"
)


class RetentionRefused(RuntimeError):
    """Nothing was archived: a chain or checkpoint does not verify, or an archive file of that
    name already holds something else."""


@dataclass(frozen=True)
class TenantSlice:
    tenant: Tenant
    rows: int
    first_seq: int
    last_seq: int
    last_hash: str
    keep_until: datetime


@dataclass
class RetentionItem:
    partition: Partition
    slices: list[TenantSlice] = field(default_factory=list)
    due: bool = False
    reason: str = ""

    def line(self) -> str:
        p = self.partition
        head = f"{p.name} ({p.start:%Y-%m}, {p.rows} events, {len(self.slices)} tenants)"
        return f"{head}: {'detach' if self.due else 'keep'}: {self.reason}"


def _years_after(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)  # the 1st of a month: no 29 February


def _slices(partition: Partition) -> list[TenantSlice]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT tenant_id, count(*), min(seq), max(seq) FROM "{partition.name}" '
            "GROUP BY tenant_id ORDER BY tenant_id"
        )
        groups = cursor.fetchall()
        found = []
        tenants = Tenant.objects.in_bulk([g[0] for g in groups])
        for tenant_id, rows, first, last in groups:
            cursor.execute(
                f'SELECT hash FROM "{partition.name}" WHERE tenant_id = %s AND seq = %s',
                [tenant_id, last],
            )
            tenant = tenants[tenant_id]
            keep_until = _years_after(partition.end, tenant.audit_retention_years)
            found.append(TenantSlice(tenant, rows, first, last, cursor.fetchone()[0], keep_until))
    return found


def retention_plan(now: datetime | None = None) -> list[RetentionItem]:
    """Every month partition that has ended, oldest first, with whether it may leave now and
    why (the dry run prints exactly this)."""
    now = now or timezone.now()
    floors = dict(AuditArchive.objects.values_list("tenant_id", "upto_seq").order_by("upto_seq"))
    plan, blocked = [], ""
    for partition in partitions_of(TABLE, count_rows=True):
        if partition.is_default or partition.end > now:
            continue
        item = RetentionItem(partition, _slices(partition))
        young = [s for s in item.slices if s.keep_until > now]
        broken = [
            s
            for s in item.slices
            if s.first_seq != floors.get(s.tenant.pk, 0) + 1
            or s.last_seq - s.first_seq + 1 != s.rows
        ]
        if blocked:
            item.reason = f"an older partition stays ({blocked})"
        elif young:
            first = min(young, key=lambda s: s.keep_until)
            item.reason = (
                f"tenant {first.tenant.slug} keeps its events until {first.keep_until:%Y-%m-%d} "
                f"({first.tenant.audit_retention_years} years)"
            )
        elif broken:
            item.reason = (
                f"not the start of tenant {broken[0].tenant.slug}'s chain in the database "
                f"(#{broken[0].first_seq}–#{broken[0].last_seq})"
            )
        else:
            item.due = True
            item.reason = "older than every tenant's retention in it"
            for s in item.slices:
                floors[s.tenant.pk] = s.last_seq
        if not item.due:
            blocked = blocked or partition.name
        plan.append(item)
    return plan


def _write_once_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            if path.read_bytes() != data:
                raise RetentionRefused(f"{path} exists with other content") from None
    finally:
        os.unlink(temp)


def copy_gzipped(query: str) -> bytes:
    """The CSV a COPY … TO STDOUT `query` writes, gzipped (mtime 0: the same rows, the same
    bytes)."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as archive,
        connection.connection.cursor() as cursor,
        cursor.copy(query) as copy,
    ):
        for chunk in copy:
            archive.write(chunk)
    return buffer.getvalue()


def _archive_rows(partition: Partition) -> bytes:
    return copy_gzipped(
        f'COPY (SELECT {_ARCHIVE_COLUMNS} FROM "{partition.name}" '
        "ORDER BY tenant_id, seq) TO STDOUT WITH (FORMAT csv, HEADER)"
    )


def _tenant_manifest(item: RetentionItem, s: TenantSlice, signer) -> dict:
    tree, _floor, _hash = archive_tree(s.tenant)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT hash FROM "{item.partition.name}" WHERE tenant_id = %s ORDER BY seq',
            [s.tenant.pk],
        )
        for (event_hash,) in cursor:
            tree.append(event_hash)
    note = checkpoint_sign(Checkpoint(origin_of(s.tenant), tree.size, tree.root()), signer)
    return {
        "tenant": s.tenant.slug,
        "tenant_id": s.tenant.pk,
        "first_seq": s.first_seq,
        "last_seq": s.last_seq,
        "last_hash": s.last_hash,
        "rows": s.rows,
        "tree": [base64.b64encode(node).decode() for node in tree.nodes],
        "checkpoint": note,
    }


def archive_dir() -> Path:
    return Path(settings.AUDIT_ARCHIVE_DIR)


def archive_files(
    partition: Partition, data: bytes, *, format: str, tenants: list[dict]
) -> tuple[Path, str, Path]:
    """Write a partition's archived rows (`data`) and its manifest, each once (write_once);
    returns the rows file, its SHA-256 and the manifest's path."""
    digest = hashlib.sha256(data).hexdigest()
    directory = archive_dir()
    rows_file = directory / f"{partition.name}.csv.gz"
    manifest = {
        "format": format,
        "table": partition.table,
        "partition": partition.name,
        "from": partition.start.isoformat(),
        "to": partition.end.isoformat(),
        "rows_file": rows_file.name,
        "sha256": digest,
        "rows": partition.rows,
        "tenants": tenants,
    }
    manifest_path = directory / f"{partition.name}.manifest.json"
    _write_once_bytes(rows_file, data)
    _write_once_bytes(manifest_path, (json.dumps(manifest, indent=1) + "\n").encode())
    return rows_file, digest, manifest_path


def detach_and_drop(partition: Partition) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE {partition.table} DETACH PARTITION "{partition.name}"')
        cursor.execute(f'DROP TABLE "{partition.name}"')


@transaction.atomic(durable=True)
def partition_archive(item: RetentionItem, *, actor: Actor) -> Path:
    """Archive one due partition (retention_plan) and take it out of the database; returns the
    manifest's path."""
    partition = item.partition
    signer = signing_key()
    data = _archive_rows(partition)
    tenants = [_tenant_manifest(item, s, signer) for s in item.slices]
    rows_file, digest, manifest_path = archive_files(
        partition, data, format="human-touch-audit-archive/1", tenants=tenants
    )
    archived_at = timezone.now()
    for s, entry in zip(item.slices, tenants, strict=True):
        AuditArchive.objects.create(
            tenant=s.tenant,
            partition=partition.name,
            first_seq=s.first_seq,
            upto_seq=s.last_seq,
            upto_hash=s.last_hash,
            tree=entry["tree"],
            file=str(rows_file),
            sha256=digest,
            archived_at=archived_at,
        )
        audit_event_append(
            tenant=s.tenant,
            actor=actor,
            action=AuditAction.AUDIT_PARTITION_ARCHIVED,
            resource=("audit_partition", partition.name),
            data={
                "first_seq": s.first_seq,
                "last_seq": s.last_seq,
                "events": s.rows,
                "file": rows_file.name,
                "sha256": digest,
                "checkpoint_size": s.last_seq,
            },
        )
    detach_and_drop(partition)
    return manifest_path
