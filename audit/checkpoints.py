"""Signed checkpoints of every tenant's audit chain, kept outside the database
(`manage.py audit_checkpoint`, scheduled every minute; docs/rules.md "Audit log").

Whoever holds the database can disable its triggers and rewrite a chain so that it verifies
again (delete the tail and rewind the head, recompute every later hash). A checkpoint is the
chain as it stood, signed with a key the database never sees (Ed25519, AUDIT_SIGNING_KEY) and
written to an append-only file store (AUDIT_CHECKPOINT_DIR; each file is written once, never
replaced) from which the tenant downloads it. `verify_audit` then checks the chain against every
checkpoint, and the tenant can check an export or one event of theirs without trusting us
(tools/verify_checkpoint.py). Formats and the tree: audit/tlog.py.

A rewrite is caught if any checkpoint was signed after the events it touched: a checkpoint
follows a chain's growth within the schedule's minute, and a chain that no longer contains the
last checkpoint is refused a new one (the command fails and says why).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditArchive, AuditChainHead, AuditEvent
from audit.tlog import (
    Checkpoint,
    CompactRange,
    NoteError,
    SignerKey,
    VerifierKey,
    checkpoint_open,
    checkpoint_sign,
    inclusion_path,
    leaf_hash,
)
from tenants.models import Tenant

NOTE_SUFFIX = ".checkpoint"
STATE_SUFFIX = ".state.json"


# --- Keys ---------------------------------------------------------------------------------------
def signing_key() -> SignerKey:
    """AUDIT_SIGNING_KEY (a `PRIVATE+KEY+…` line) or the file AUDIT_SIGNING_KEY_FILE holds.
    With DEBUG and neither set, a development key is made once in var/ (never in production)."""
    text = settings.AUDIT_SIGNING_KEY
    path = settings.AUDIT_SIGNING_KEY_FILE
    if not text and path:
        text = Path(path).read_text()
    if not text and settings.DEBUG:
        dev = Path(settings.BASE_DIR) / "var" / "audit-signing.key"
        if not dev.exists():
            dev.parent.mkdir(exist_ok=True)
            _write_once(dev, str(SignerKey.generate(settings.AUDIT_KEY_NAME)) + "\n", mode=0o600)
        text = dev.read_text()
    if not text:
        raise ImproperlyConfigured(
            "Set AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE (make one with "
            "`manage.py audit_checkpoint --new-key`)"
        )
    return SignerKey.parse(text)


def verifier_keys() -> list[VerifierKey]:
    """The signing key's verifier, and the older ones still trusted (AUDIT_VERIFIER_KEYS, after
    a rotation)."""
    keys = [VerifierKey.parse(k) for k in settings.AUDIT_VERIFIER_KEYS]
    with contextlib.suppress(ImproperlyConfigured):  # no key configured: only the older ones
        keys.insert(0, signing_key().verifier)
    return keys


def origin_of(tenant: Tenant) -> str:
    return f"{settings.AUDIT_CHECKPOINT_ORIGIN}/{tenant.slug}"


# --- The append-only store ----------------------------------------------------------------------
def _write_once(path: Path, data: str, *, mode: int = 0o644) -> bool:
    """Create `path` with `data` unless it exists (then it must already hold exactly `data`):
    nothing here ever replaces a file. True if this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        try:
            os.link(temp, path)  # atomic, and fails if the name is taken
        except FileExistsError:
            if path.read_text(encoding="utf-8") != data:
                raise NoteError(f"{path} exists with other content; it is never replaced") from None
            return False
        return True
    finally:
        os.unlink(temp)


def _tenant_dir(slug: str) -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / slug


def _name(size: int) -> str:
    return f"{size:012d}"


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    path: Path

    @property
    def note(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def signed_at(self) -> datetime:
        return datetime.fromtimestamp(self.path.stat().st_mtime, tz=UTC)

    @property
    def filename(self) -> str:
        return f"{self.path.parent.name}-{self.size}{NOTE_SUFFIX}"


def checkpoints_of(tenant: Tenant) -> list[StoredCheckpoint]:
    """The tenant's checkpoints, oldest (smallest) first."""
    directory = _tenant_dir(tenant.slug)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"*{NOTE_SUFFIX}"):
        stem = path.name.removesuffix(NOTE_SUFFIX)
        if stem.isdigit():
            found.append(StoredCheckpoint(int(stem), path))
    return sorted(found, key=lambda c: c.size)


def checkpoint_of(tenant: Tenant, size: int) -> StoredCheckpoint | None:
    path = _tenant_dir(tenant.slug) / f"{_name(size)}{NOTE_SUFFIX}"
    return StoredCheckpoint(size, path) if path.is_file() else None


def _state(tenant: Tenant, stored: StoredCheckpoint | None) -> tuple[CompactRange, str]:
    if stored is None:
        return CompactRange(), GENESIS_HASH
    path = stored.path.with_name(f"{_name(stored.size)}{STATE_SUFFIX}")
    state = json.loads(path.read_text(encoding="utf-8"))
    nodes = [base64.b64decode(n) for n in state["nodes"]]
    return CompactRange(state["size"], nodes), state["last_hash"]


# --- Reading the chain --------------------------------------------------------------------------
def _hashes(tenant_id: int, after: int = 0, upto: int | None = None) -> Iterator[tuple]:
    """(seq, prev_hash, hash) of the tenant's events after `after`, in chain order."""
    events = AuditEvent.objects.filter(tenant_id=tenant_id, seq__gt=after)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    rows = events.order_by("seq").values_list("seq", "prev_hash", "hash")
    return rows.iterator(chunk_size=5000)


# --- Signing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckpointOutcome:
    tenant: Tenant
    status: str  # signed | unchanged | refused
    size: int
    detail: str = ""

    def line(self) -> str:
        if self.status == "signed":
            return f"{self.tenant.slug}: signed checkpoint {self.size}"
        if self.status == "unchanged":
            return f"{self.tenant.slug}: unchanged at {self.size}"
        return f"{self.tenant.slug}: REFUSED: {self.detail}"


def _read_head_and_growth(tenant: Tenant, last_size: int) -> tuple[int, str, list[tuple]]:
    own = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and own:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = AuditChainHead.objects.filter(tenant=tenant).values_list("seq", "hash").first()
        seq, head_hash = head or (0, GENESIS_HASH)
        growth = list(_hashes(tenant.pk, after=last_size, upto=seq)) if seq > last_size else []
    return seq, head_hash, growth


def audit_checkpoint_tenant(tenant: Tenant, signer: SignerKey) -> CheckpointOutcome:
    """Sign the tenant's chain head if it grew since its last checkpoint — and only if the chain
    still continues that checkpoint."""
    stored = checkpoints_of(tenant)
    last = stored[-1] if stored else None
    tree, last_hash = _state(tenant, last)
    floor_tree, floor, floor_hash = archive_tree(tenant)
    if floor > tree.size:  # archived past the last checkpoint: continue from the archive's tree
        tree, last_hash = floor_tree, floor_hash
    size, head_hash, growth = _read_head_and_growth(tenant, tree.size)
    if size < tree.size:
        return CheckpointOutcome(
            tenant,
            "refused",
            size,
            f"the chain has {size} events but checkpoint {tree.size} signed {tree.size}: "
            "events at the end were deleted",
        )
    if size == tree.size:
        if head_hash != last_hash:
            return CheckpointOutcome(
                tenant,
                "refused",
                size,
                f"the chain head no longer matches checkpoint {size}: the chain was rewritten",
            )
        return CheckpointOutcome(tenant, "unchanged", size)
    expected_seq, prev = tree.size + 1, last_hash
    for seq, prev_hash, event_hash in growth:
        if seq != expected_seq or prev_hash != prev:
            return CheckpointOutcome(
                tenant,
                "refused",
                size,
                f"event #{seq} does not continue the chain of checkpoint {tree.size}: "
                "the chain was rewritten (verify_audit names where)",
            )
        tree.append(event_hash)
        expected_seq, prev = seq + 1, event_hash
    if tree.size != size or prev != head_hash:
        return CheckpointOutcome(
            tenant, "refused", size, "the chain's events do not reach its head (run verify_audit)"
        )
    note = checkpoint_sign(Checkpoint(origin_of(tenant), size, tree.root()), signer)
    directory = _tenant_dir(tenant.slug)
    state = {
        "size": size,
        "last_hash": head_hash,
        "nodes": [base64.b64encode(n).decode() for n in tree.nodes],
    }
    _write_once(directory / f"{_name(size)}{STATE_SUFFIX}", json.dumps(state) + "\n")
    _write_once(directory / f"{_name(size)}{NOTE_SUFFIX}", note)
    return CheckpointOutcome(tenant, "signed", size)


def audit_checkpoint_all(*, tenant: Tenant | None = None) -> list[CheckpointOutcome]:
    signer = signing_key()
    tenants = [tenant] if tenant else list(Tenant.objects.order_by("slug"))
    return [audit_checkpoint_tenant(t, signer) for t in tenants]


# --- Verifying the chain against every checkpoint ----------------------------------------------
@dataclass(frozen=True)
class CheckpointBreak:
    tenant: Tenant
    size: int
    signed_at: datetime
    problem: str

    def line(self) -> str:
        at = self.signed_at.strftime("%Y-%m-%d %H:%M:%SZ")
        where = f"tenant {self.tenant.slug}, checkpoint {self.size} (signed {at})"
        return f"broken: {where}: {self.problem}"


def _opened(tenant: Tenant, stored: StoredCheckpoint, keys) -> Checkpoint | str:
    try:
        checkpoint, _key = checkpoint_open(stored.note, keys)
    except NoteError as exc:
        return f"the checkpoint does not verify: {exc}"
    if checkpoint.origin != origin_of(tenant) or checkpoint.size != stored.size:
        return f"the checkpoint is of {checkpoint.origin} at {checkpoint.size}, not this log"
    return checkpoint


def audit_checkpoints_verify(*, tenant: Tenant | None = None) -> tuple[int, CheckpointBreak | None]:
    """(checkpoints checked, the first the chain no longer contains). One pass per tenant over
    its event hashes, from one snapshot; the hashes themselves are verify_audit's chain check."""
    keys = verifier_keys()
    tenants = [tenant] if tenant else list(Tenant.objects.order_by("slug"))
    checked = 0
    own = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and own:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for each in tenants:
            # Checkpoints up to an archived floor were checked when it was archived
            # (audit/retention.py); the tree continues from the floor's.
            tree, floor, _hash = archive_tree(each)
            stored = [item for item in checkpoints_of(each) if item.size > floor]
            if not stored:
                continue
            expected = []
            for item in stored:
                opened = _opened(each, item, keys)
                if isinstance(opened, str):
                    return checked, CheckpointBreak(each, item.size, item.signed_at, opened)
                expected.append((item, opened))
            pending = iter(expected)
            item, checkpoint = next(pending)
            for _seq, _prev, event_hash in _hashes(each.pk, after=floor, upto=stored[-1].size):
                tree.append(event_hash)
                if tree.size == checkpoint.size:
                    if tree.root() != checkpoint.root:
                        return checked, CheckpointBreak(
                            each,
                            item.size,
                            item.signed_at,
                            f"the chain's first {item.size} events are not those it signed: "
                            "an event up to "
                            f"#{item.size} was changed, removed or inserted",
                        )
                    checked += 1
                    nxt = next(pending, None)
                    if nxt is None:
                        break
                    item, checkpoint = nxt
            else:
                if tree.size < checkpoint.size:
                    return checked, CheckpointBreak(
                        each,
                        item.size,
                        item.signed_at,
                        f"the chain has {tree.size} events but the checkpoint signed "
                        f"{item.size}: events at the end were deleted",
                    )
    return checked, None


def archive_tree(tenant: Tenant) -> tuple[CompactRange, int, str]:
    """The tenant's Merkle tree up to its newest archived event, that event's seq and hash (an
    empty tree, 0 and the genesis when nothing is archived)."""
    floor = AuditArchive.objects.filter(tenant=tenant).order_by("-upto_seq").first()
    if floor is None:
        return CompactRange(), 0, GENESIS_HASH
    nodes = [base64.b64decode(n) for n in floor.tree]
    return CompactRange(floor.upto_seq, nodes), floor.upto_seq, floor.upto_hash


# --- Inclusion proofs ---------------------------------------------------------------------------
def inclusion_proof(event: AuditEvent, stored: StoredCheckpoint) -> dict:
    """What a client needs to check, with nothing but the verifier key, that `event` is in the
    tenant's log as `stored` signed it: the event's stored fields, and the sibling subtree
    hashes from its leaf to the signed root (RFC 6962) — no other event's content."""
    from audit.chain import EVENT_FIELDS, utc_iso

    leaves = [leaf_hash(h) for _s, _p, h in _hashes(event.tenant_id, upto=stored.size)]
    path = inclusion_path(leaves, event.seq - 1)
    fields = {name: getattr(event, name) for name in EVENT_FIELDS}
    fields["created_at"] = utc_iso(event.created_at)
    return {
        "format": "human-touch-inclusion-proof/1",
        "tenant_id": event.tenant_id,
        "event": fields,
        "leaf_index": event.seq - 1,
        "tree_size": stored.size,
        "inclusion_path": [base64.b64encode(node).decode() for node in path],
        "checkpoint": stored.note,
    }
