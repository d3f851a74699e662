"""Signed checkpoints (audit/checkpoints.py): every tenant's chain is signed as a C2SP checkpoint
in an append-only store, `verify_audit` checks the chain against every checkpoint, and the four
rewrites that pass the chain check alone — made by whoever holds the database, triggers off —
are caught once a checkpoint covers what they touched."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.checkpoints import (
    _write_once,
    audit_checkpoint_all,
    checkpoints_of,
)
from audit.models import AuditEvent
from audit.tlog import (
    CompactRange,
    NoteError,
    SignerKey,
    VerifierKey,
    checkpoint_open,
)
from tests.audit.tampering import audit_triggers_lifted, rechained

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_checkpoint.py"


def command(name: str, *args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def events_of(tenant) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(tenant=tenant).order_by("seq"))


@pytest.fixture
def signed(acme, append_events):
    """acme's chain of (at least) six events, checkpointed."""
    append_events(acme, 6)
    code, out = command("audit_checkpoint", "--tenant", "acme")
    assert code == 0, out
    return checkpoints_of(acme)[-1]


# --- Signing ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_each_tenants_chain_is_signed_once_per_growth(acme, globex, append_events, audit_signer):
    append_events(acme, 3)
    size = AuditEvent.objects.filter(tenant=acme).count()
    gsize = AuditEvent.objects.filter(tenant=globex).count()
    assert command("audit_checkpoint") == (
        0,
        f"acme: signed checkpoint {size}\nglobex: signed checkpoint {gsize}\n",
    )
    assert command("audit_checkpoint") == (
        0,
        f"acme: unchanged at {size}\nglobex: unchanged at {gsize}\n",
    )
    append_events(acme, 2)
    assert command("audit_checkpoint", "--tenant", "acme") == (
        0,
        f"acme: signed checkpoint {size + 2}\n",
    )
    assert [c.size for c in checkpoints_of(acme)] == [size, size + 2]


@pytest.mark.django_db
def test_a_checkpoint_is_a_c2sp_signed_note_over_the_events_hashes(signed, acme, audit_signer):
    note = signed.note
    text, _, signature = note.rpartition("\n\n")
    origin, size, root = text.split("\n")
    assert origin == "tests.human-touch.local/audit/acme"
    assert int(size) == signed.size == AuditEvent.objects.filter(tenant=acme).count()
    tree = CompactRange()
    for event in events_of(acme):
        tree.append(event.hash)
    assert base64.b64decode(root) == tree.root()
    # "— <key name> <base64(key id || Ed25519 signature)>", the key id per the signed-note spec.
    assert signature.startswith(f"\u2014 {audit_signer.name} ")
    raw = base64.b64decode(signature.split(" ")[-1])
    assert raw[:4] == audit_signer.verifier.id and len(raw) == 4 + 64
    checkpoint, key = checkpoint_open(note, [audit_signer.verifier])
    assert (checkpoint.size, key.name) == (signed.size, audit_signer.name)


def test_a_verifier_key_reads_back_and_its_id_is_checked():
    signer = SignerKey.generate("example.test/audit")
    key = str(signer.verifier)
    assert str(VerifierKey.parse(key)) == key
    name, id_hex, rest = key.split("+", 2)
    with pytest.raises(NoteError, match="id does not match"):
        VerifierKey.parse(f"{name}+00000000+{rest}")


@pytest.mark.django_db
def test_the_store_never_replaces_a_checkpoint(signed):
    with pytest.raises(NoteError, match="never replaced"):
        _write_once(signed.path, "something else\n")
    assert _write_once(signed.path, signed.note) is False  # the same content: nothing to do


@pytest.mark.django_db
def test_without_a_signing_key_nothing_is_signed_and_the_command_says_so(settings, acme):
    settings.AUDIT_SIGNING_KEY = ""
    settings.DEBUG = False
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        audit_checkpoint_all()


@pytest.mark.django_db
def test_new_key_prints_a_signing_key_and_its_verifier():
    code, out = command("audit_checkpoint", "--new-key", "example.test/audit")
    signing, verifier = out.splitlines()
    signer = SignerKey.parse(signing.removeprefix("AUDIT_SIGNING_KEY="))
    assert verifier == f"verifier key: {signer.verifier}"


@pytest.mark.django_db
def test_the_schedule_checkpoints_every_minute():
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name="audit.checkpoint")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "audit.tasks.audit_checkpoint",
        Schedule.MINUTES,
        1,
    )


# --- verify_audit against every checkpoint --------------------------------------------------------
@pytest.mark.django_db
def test_verify_audit_checks_every_checkpoint(signed, acme, append_events):
    append_events(acme, 2)
    command("audit_checkpoint")
    total = AuditEvent.objects.count()
    checkpoints = sum(len(checkpoints_of(t)) for t in [acme])
    code, out = command("verify_audit")
    assert (code, out) == (0, f"ok: {total} events\nok: {checkpoints + 0} checkpoints\n")


@pytest.mark.django_db(transaction=True)
def test_rewrite_1_deleting_the_tail_and_rewinding_the_head_is_caught(signed, acme):
    events = events_of(acme)
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq > 3", [acme.pk])
        rechained(cursor, acme, events[:3], from_seq=4)
    assert command("verify_audit", "--no-checkpoints")[0] == 0  # the chain alone looks fine
    code, out = command("verify_audit")
    assert code == 1
    assert out.startswith(f"broken: tenant acme, checkpoint {signed.size} (signed ")
    assert f"the chain has 3 events but the checkpoint signed {signed.size}" in out
    code, out = command("audit_checkpoint")
    assert code == 1 and "acme: REFUSED" in out and "deleted" in out


@pytest.mark.django_db(transaction=True)
def test_rewrite_2_deleting_a_tenants_whole_chain_with_its_head_is_caught(signed, acme):
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE tenant_id = %s", [acme.pk])
        cursor.execute("DELETE FROM audit_auditchainhead WHERE tenant_id = %s", [acme.pk])
    assert command("verify_audit", "--no-checkpoints")[0] == 0
    code, out = command("verify_audit")
    assert code == 1
    assert f"checkpoint {signed.size}" in out and "the chain has 0 events" in out


@pytest.mark.django_db(transaction=True)
def test_rewrite_3_editing_a_middle_event_and_rehashing_the_rest_is_caught(signed, acme):
    events = events_of(acme)
    events[2].data = {"n": "forged"}
    with audit_triggers_lifted() as cursor:
        rechained(cursor, acme, events, from_seq=3)
    assert command("verify_audit", "--no-checkpoints")[0] == 0
    code, out = command("verify_audit")
    assert code == 1
    assert f"checkpoint {signed.size}" in out
    assert f"the chain's first {signed.size} events are not those it signed" in out
    assert command("audit_checkpoint")[0] == 1


@pytest.mark.django_db(transaction=True)
def test_rewrite_4_deleting_a_middle_event_and_renumbering_is_caught(signed, acme):
    events = events_of(acme)
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
        rechained(cursor, acme, events[:2] + events[3:], from_seq=3)
    assert command("verify_audit", "--no-checkpoints")[0] == 0
    code, out = command("verify_audit")
    assert code == 1 and f"checkpoint {signed.size}" in out


@pytest.mark.django_db(transaction=True)
def test_the_first_checkpoint_the_chain_no_longer_contains_is_named(acme, append_events):
    append_events(acme, 3)
    command("audit_checkpoint")
    first = checkpoints_of(acme)[-1].size
    append_events(acme, 3)
    command("audit_checkpoint")
    events = events_of(acme)
    events[first].data = {"n": "forged"}  # an event after the first checkpoint, before the 2nd
    with audit_triggers_lifted() as cursor:
        rechained(cursor, acme, events, from_seq=first + 1)
    code, out = command("verify_audit")
    assert code == 1
    second = checkpoints_of(acme)[-1].size
    assert f"checkpoint {second} " in out and f"checkpoint {first} " not in out


@pytest.mark.django_db(transaction=True)
def test_a_rewrite_of_events_no_checkpoint_covers_yet_is_not_caught(signed, acme, append_events):
    """The honest limit: what was appended after the last checkpoint and rewritten before the
    next (within the minute) leaves no trace; docs/rules.md says so."""
    append_events(acme, 2)
    events = events_of(acme)
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq > %s", [acme.pk, signed.size]
        )
        rechained(cursor, acme, events[: signed.size], from_seq=signed.size + 1)
    assert command("verify_audit")[0] == 0


@pytest.mark.django_db
def test_a_checkpoint_signed_by_an_unknown_key_fails_verification(signed, settings):
    settings.AUDIT_SIGNING_KEY = str(SignerKey.generate("tests.human-touch.local/audit"))
    code, out = command("verify_audit")
    assert code == 1 and "no signature by a known key" in out


@pytest.mark.django_db
def test_after_a_key_rotation_older_checkpoints_verify_with_the_old_verifier_key(
    signed, settings, audit_signer, acme, append_events
):
    settings.AUDIT_SIGNING_KEY = str(SignerKey.generate("tests.human-touch.local/audit"))
    settings.AUDIT_VERIFIER_KEYS = [str(audit_signer.verifier)]
    append_events(acme, 1)
    assert command("audit_checkpoint", "--tenant", "acme")[0] == 0
    code, out = command("verify_audit")
    assert code == 0 and out.endswith("ok: 2 checkpoints\n")


# --- What a tenant checks on its own (tools/verify_checkpoint.py) ------------------------------
def run_tool(*args) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout + result.stderr


def test_the_verifier_needs_nothing_but_cryptography():
    import ast

    tree = ast.parse(TOOL.read_text())
    modules = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert modules - {"__future__", "argparse", "base64", "hashlib", "json", "sys"} == {
        "cryptography"
    }


@pytest.fixture
def admin_client(client, acme, make_member):
    from tenants.models import Role

    client.force_login(make_member("ada", acme, Role.ADMIN))
    return client


@pytest.mark.django_db
def test_a_tenant_admin_checks_an_export_against_a_downloaded_checkpoint(
    signed, acme, admin_client, tmp_path, audit_signer
):
    page = admin_client.get("/t/acme/audit/checkpoints/").content.decode()
    assert f"Download checkpoint {signed.size}" in page
    assert str(audit_signer.verifier) in page
    checkpoint = admin_client.get(f"/t/acme/audit/checkpoints/{signed.size}.checkpoint")
    assert checkpoint["Content-Disposition"].endswith(f'acme-{signed.size}.checkpoint"')
    export = b"".join(admin_client.get("/t/acme/audit/export.jsonl").streaming_content)
    (tmp_path / "cp").write_bytes(checkpoint.content)
    (tmp_path / "log.jsonl").write_bytes(export)
    args = ["export", "--key", str(audit_signer.verifier), "--tenant-id", str(acme.pk)]
    files = ["--checkpoint", str(tmp_path / "cp"), "--export", str(tmp_path / "log.jsonl")]
    assert run_tool(*args, *files) == (
        0,
        f"ok: the export's first {signed.size} events are exactly those "
        "tests.human-touch.local/audit/acme signed\n",
    )
    lines = export.decode().splitlines()
    forged = json.loads(lines[1])
    forged["data"] = {"n": 42}
    lines[1] = json.dumps(forged)
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    code, out = run_tool(*args, *files)
    assert (code, out.startswith("FAILED: event #")) == (1, True)


@pytest.mark.django_db
def test_only_admins_download_checkpoints_and_only_their_tenants(
    signed, client, acme, globex, make_member
):
    from tenants.models import Role

    client.force_login(make_member("pat", acme, Role.PLANNER))
    assert client.get("/t/acme/audit/checkpoints/").status_code == 403
    client.force_login(make_member("gil", globex, Role.ADMIN))
    assert client.get(f"/t/acme/audit/checkpoints/{signed.size}.checkpoint").status_code == 404


def test_check_deploy_warns_without_a_signing_key(settings):
    from audit.checks import audit_signing_key_configured

    settings.AUDIT_SIGNING_KEY = ""
    assert [w.id for w in audit_signing_key_configured(None)] == ["audit.W001"]
    settings.AUDIT_SIGNING_KEY_FILE = "/run/secrets/audit.key"
    assert audit_signing_key_configured(None) == []
