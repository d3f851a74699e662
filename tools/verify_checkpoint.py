#!/usr/bin/env python3
"""Check a Human Touch audit log without trusting Human Touch. Needs Python 3.9+ and the
`cryptography` package only (pip install cryptography).

  verify_checkpoint.py export --key KEY --tenant-id N --checkpoint FILE --export FILE.jsonl
      The export (the audit log as JSON Lines, unfiltered) holds exactly the events the signed
      checkpoint covers: every event's hash is recomputed from its content, each is chained to
      the one before, and the tree over them has the checkpoint's root.

  verify_checkpoint.py proof --key KEY FILE.json
      One event (a decision downloaded from the client portal) is in the log the checkpoint in
      the proof signed, exactly as the proof shows it: its hash is recomputed from its content
      and the proof's sibling hashes lead to the signed root. Other events stay hidden.

KEY is the verifier key Human Touch publishes (`name+id+key`). Exit 0 and "ok: …" when it holds;
exit 1 and "FAILED: …" when not.

Formats: C2SP signed-note and tlog-checkpoint; the tree is RFC 6962's over the events' chain
hashes; a chain hash is SHA-256("<prev hash>|<seq>|<created_at>|<canonical JSON body>"). This
file repeats, on purpose, what Human Touch's audit/tlog.py and audit/chain.py compute, so that it
stands alone.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
BODY_FIELDS = (
    "tenant_id",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "resource_type",
    "resource_id",
    "plan_version",
    "payload_hash",
    "data",
)


class Failed(Exception):
    pass


# --- Signed note and checkpoint -----------------------------------------------------------------
def parse_key(text: str):
    try:
        name, id_hex, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise Failed(f"not a verifier key: {text!r}") from exc
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise Failed("not an Ed25519 verifier key")
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if expected.hex() != id_hex.lower():
        raise Failed("the verifier key's id does not match its name and key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, key) -> tuple[str, int, bytes]:
    name, key_id, public_key = key
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise Failed("the checkpoint is not a signed note")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise Failed(f"not a signature line: {line!r}")
        signer, _, encoded = line[2:].rpartition(" ")
        raw = base64.b64decode(encoded)
        if signer != name or raw[:4] != key_id:
            continue
        try:
            public_key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise Failed("the checkpoint's signature does not verify: it was altered") from exc
        origin, size, root = text.split("\n")[:3]
        if not size.isdigit():
            raise Failed(f"not a tree size: {size!r}")
        return origin, int(size), base64.b64decode(root)
    raise Failed(f"the checkpoint carries no signature by the key {name}")


# --- Chain hashes and the tree ------------------------------------------------------------------
def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: dict, tenant_id: int) -> str:
    body = canonical([tenant_id if f == "tenant_id" else event[f] for f in BODY_FIELDS])
    text = f"{event['prev_hash']}|{event['seq']}|{event['created_at']}|{body}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def leaf(hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(hash_hex)).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaves: list) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(root_of(leaves[:split]), root_of(leaves[split:]))


def included(leaf_value: bytes, index: int, size: int, path: list, root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_value
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- The two checks -----------------------------------------------------------------------------
def check_export(key, tenant_id: int, note: str, lines) -> str:
    origin, size, root = open_checkpoint(note, key)
    events = sorted((json.loads(line) for line in lines if line.strip()), key=lambda e: e["seq"])
    prev, leaves = GENESIS, []
    for expected_seq, event in enumerate(events, start=1):
        if event["seq"] != expected_seq:
            raise Failed(f"event #{expected_seq} is missing from the export")
        if event["prev_hash"] != prev:
            raise Failed(f"event #{event['seq']} is not chained to the event before it")
        if event_hash(event, tenant_id) != event["hash"]:
            raise Failed(f"event #{event['seq']}'s content does not match its hash")
        prev = event["hash"]
        leaves.append(leaf(prev))
    if len(leaves) < size:
        raise Failed(f"the export has {len(leaves)} events; the checkpoint signed {size}")
    if root_of(leaves[:size]) != root:
        raise Failed(f"the export's first {size} events are not those the checkpoint signed")
    return f"ok: the export's first {size} events are exactly those {origin} signed"


def check_proof(key, proof: dict) -> str:
    origin, size, root = open_checkpoint(proof["checkpoint"], key)
    event = proof["event"]
    if proof["tree_size"] != size:
        raise Failed("the proof is for another checkpoint than the one it carries")
    recomputed = event_hash(event, proof["tenant_id"])
    if recomputed != event["hash"]:
        raise Failed("the event's content does not match its hash")
    path = [base64.b64decode(p) for p in proof["inclusion_path"]]
    if proof["leaf_index"] != event["seq"] - 1 or not included(
        leaf(recomputed), proof["leaf_index"], size, path, root
    ):
        raise Failed("the event is not in the log the checkpoint signed")
    return (
        f"ok: event #{event['seq']} ({event['action']} of {event['resource_type']} "
        f"{event['resource_id']} by {event['actor_label']}) is in {origin} as signed at "
        f"{size} events"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="an exported log against a checkpoint")
    export.add_argument("--key", required=True)
    export.add_argument("--tenant-id", type=int, required=True)
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--export", required=True)
    proof = commands.add_parser("proof", help="one event against the checkpoint in its proof")
    proof.add_argument("--key", required=True)
    proof.add_argument("file")
    args = parser.parse_args(argv)
    try:
        key = parse_key(args.key)
        if args.command == "export":
            with open(args.checkpoint, encoding="utf-8") as handle:
                note = handle.read()
            with open(args.export, encoding="utf-8") as handle:
                print(check_export(key, args.tenant_id, note, handle))
        else:
            with open(args.file, encoding="utf-8") as handle:
                print(check_proof(key, json.load(handle)))
    except (Failed, KeyError, ValueError) as exc:
        print(f"FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
