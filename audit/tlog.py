"""Signed checkpoints of the audit chain: the C2SP formats, pure (no database, no Django).

- **signed note** (c2sp.org/signed-note): a text ending in a newline, a blank line, then one
  line per signature `— <key name> <base64(key id || signature)>`. Ed25519 only (signature type
  0x01); key id = the first 4 bytes of SHA-256(key name || "\\n" || 0x01 || public key).
  Verifier keys read `<name>+<key id hex>+<base64(0x01 || public key)>`, signer keys
  `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>` (the Go `note` package's forms).
- **checkpoint** (c2sp.org/tlog-checkpoint): the note's text is three lines — the origin (one
  per tenant's log), the tree size, the base64 root hash.

The tree is an RFC 6962 / RFC 9162 Merkle tree whose leaves are the tenant's audit events in
chain order, each leaf the event's chain hash (32 bytes): leaf hash SHA-256(0x00 || event hash),
node hash SHA-256(0x01 || left || right). The chain already links every event to the one before;
the tree over it gives short inclusion proofs (a client proves one event of theirs without seeing
any other event) and one streaming pass checks a chain against every checkpoint.

tools/verify_checkpoint.py repeats the verifying half of this file so that it runs with nothing
but `cryptography`; tests/audit/test_checkpoints.py keeps the two in agreement.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class NoteError(ValueError):
    """A note, key or checkpoint that does not read or verify."""


# --- Keys ---------------------------------------------------------------------------------------
def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c in name for c in "+ \t\n") or not name.isprintable():
        raise NoteError(f"a key name has no '+', space or newline: {name!r}")


@dataclass(frozen=True)
class VerifierKey:
    name: str
    id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            # The base64 key may itself hold '+': split off the name and id only.
            name, id_hex, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError(f"not a verifier key (name+id+key): {text!r}") from exc
        if raw[:1] != ED25519 or len(raw) != 33:
            raise NoteError("only Ed25519 verifier keys are supported")
        if key_id(name, raw[1:]).hex() != id_hex.lower():
            raise NoteError(f"the verifier key's id does not match its name and key: {text!r}")
        return cls(name, bytes.fromhex(id_hex), Ed25519PublicKey.from_public_bytes(raw[1:]))

    def __str__(self) -> str:
        raw = self.public_key.public_bytes_raw()
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + raw).decode()}"


@dataclass(frozen=True)
class SignerKey:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a signer key (PRIVATE+KEY+name+id+key)")
        _, _, name, id_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError("the signer key's key is not base64") from exc
        if raw[:1] != ED25519 or len(raw) != 33:
            raise NoteError("only Ed25519 signer keys are supported")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.id.hex() != id_hex.lower():
            raise NoteError("the signer key's id does not match its name and key")
        return signer

    @property
    def verifier(self) -> VerifierKey:
        public = self.private_key.public_key()
        return VerifierKey(self.name, key_id(self.name, public.public_bytes_raw()), public)

    def __str__(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(ED25519 + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{encoded}"


# --- Signed notes -------------------------------------------------------------------------------
def note_sign(text: str, signer: SignerKey) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with a newline and has no blank line")
    signature = signer.private_key.sign(text.encode())
    encoded = base64.b64encode(signer.verifier.id + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {encoded}\n"


def note_open(note: str, keys: Iterable[VerifierKey]) -> tuple[str, VerifierKey]:
    """The note's text and the known key that signed it; NoteError if no known key did."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    known = {(key.name, key.id): key for key in keys}
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"not a signature line: {line!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError("a signature is not base64") from exc
        key = known.get((name, raw[:4]))
        if key is None:
            continue
        try:
            key.public_key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {name} does not verify") from exc
        return text, key
    raise NoteError("no signature by a known key")


# --- Checkpoints --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size.startswith("0") and size != "0"):
            raise NoteError(f"not a tree size: {size!r}")
        try:
            root_bytes = base64.b64decode(root, validate=True)
        except ValueError as exc:
            raise NoteError("the root hash is not base64") from exc
        if len(root_bytes) != 32 or not origin:
            raise NoteError("a checkpoint needs an origin and a 32-byte root hash")
        return cls(origin, int(size), root_bytes)


def checkpoint_sign(checkpoint: Checkpoint, signer: SignerKey) -> str:
    return note_sign(checkpoint.text(), signer)


def checkpoint_open(note: str, keys: Iterable[VerifierKey]) -> tuple[Checkpoint, VerifierKey]:
    text, key = note_open(note, keys)
    return Checkpoint.parse(text), key


# --- The Merkle tree over event hashes ----------------------------------------------------------
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(event_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The tree's perfect subtrees from the left, as leaves are appended: the root of every
    prefix in O(log n), one pass over the leaves. Kept beside each checkpoint so the next one
    starts where it ended."""

    def __init__(self, size: int = 0, nodes: list[bytes] | None = None):
        self.size = size
        self.nodes = list(nodes or [])  # one per set bit of size, largest subtree first
        if len(self.nodes) != bin(size).count("1"):
            raise NoteError("a compact range has one node per set bit of its size")

    def append(self, event_hash_hex: str) -> None:
        node = leaf_hash(event_hash_hex)
        size = self.size
        while size & 1:  # merge with each completed subtree of the same height
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
        self.nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root


def _subtree_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_subtree_root(leaves[:split]), _subtree_root(leaves[split:]))


def inclusion_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 PATH(index, leaves): the sibling subtree roots from the leaf up."""
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*inclusion_path(leaves[:split], index), _subtree_root(leaves[split:])]
    return [*inclusion_path(leaves[split:], index - split), _subtree_root(leaves[:split])]


def inclusion_verify(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
