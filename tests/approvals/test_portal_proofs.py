"""The client portal lets a client prove that a decision of theirs is in the audit log as the
latest signed checkpoint covers it (audit/checkpoints.py), with tools/verify_checkpoint.py and
nothing else — and shows them no other event."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role

pytestmark = pytest.mark.django_db
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_checkpoint.py"


@pytest.fixture
def carol(acme, make_member):
    """Carol is acme's client."""
    return make_member("carol", acme, Role.CLIENT)


@pytest.fixture
def decided(acme, alice, carol, make_ticket):
    """Carol approved a budget increase, and the log was signed since."""
    ticket = make_ticket(
        acme, "A5", title="Budget increase for search", required_roles=["planner", "client"]
    )
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve")
    ticket_decide(ticket=ticket, actor=Actor.for_user(carol), verdict="approve")
    call_command("audit_checkpoint", stdout=StringIO())
    return AuditEvent.objects.get(action="ticket.decided", actor_id=str(carol.pk))


def verify(proof: dict, key: str, tmp_path) -> tuple[int, str]:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    result = subprocess.run(
        [sys.executable, str(TOOL), "proof", "--key", key, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout


def test_a_client_downloads_a_proof_of_their_decision_and_checks_it_alone(
    client, carol, decided, tmp_path, audit_signer
):
    client.force_login(carol)
    page = client.get(reverse("portal:proofs")).content.decode()
    assert "Approve · Budget increase for search" in page
    assert f"Download proof of #{decided.seq}" in page
    response = client.get(reverse("portal:proof", args=["acme", decided.seq]))
    proof = response.json()
    assert proof["event"]["action"] == "ticket.decided"
    assert proof["event"]["data"]["verdict"] == "approve"
    key = str(audit_signer.verifier)
    code, out = verify(proof, key, tmp_path)
    assert code == 0, out
    assert out.startswith(f"ok: event #{decided.seq} (ticket.decided of ticket ")
    assert "by carol) is in tests.human-touch.local/audit/acme as signed at" in out
    # The proof carries hashes only, no other event: nothing internal leaks to the client.
    assert set(proof) == {
        "format",
        "tenant_id",
        "event",
        "leaf_index",
        "tree_size",
        "inclusion_path",
        "checkpoint",
    }


def test_a_proof_whose_decision_was_altered_fails(client, carol, decided, tmp_path, audit_signer):
    client.force_login(carol)
    proof = client.get(reverse("portal:proof", args=["acme", decided.seq])).json()
    proof["event"]["data"]["verdict"] = "reject"
    code, out = verify(proof, str(audit_signer.verifier), tmp_path)
    assert (code, out) == (1, "FAILED: the event's content does not match its hash\n")
    proof = client.get(reverse("portal:proof", args=["acme", decided.seq])).json()
    proof["checkpoint"] = proof["checkpoint"].replace(f"\n{proof['tree_size']}\n", "\n1\n")
    code, out = verify(proof, str(audit_signer.verifier), tmp_path)
    assert code == 1 and "signature does not verify" in out


def test_a_client_gets_no_proof_of_someone_elses_event_nor_another_tenants(
    client, carol, decided, alice, globex, make_member
):
    client.force_login(carol)
    alices = AuditEvent.objects.get(action="ticket.decided", actor_id=str(alice.pk))
    assert client.get(reverse("portal:proof", args=["acme", alices.seq])).status_code == 404
    assert client.get(reverse("portal:proof", args=["globex", 1])).status_code == 404
    assert client.get(reverse("portal:proof_checkpoint", args=["globex"])).status_code == 404
    client.force_login(alice)  # not a client: the portal is not theirs
    assert client.get(reverse("portal:proofs")).status_code == 404


def test_a_decision_no_checkpoint_covers_yet_says_so(client, carol, decided, acme, make_ticket):
    second = make_ticket(
        acme, "A7", title="Winter creative theme", required_roles=["planner", "legal", "client"]
    )
    ticket_decide(ticket=second, actor=Actor.for_user(carol), verdict="approve")
    client.force_login(carol)
    page = client.get(reverse("portal:proofs")).content.decode()
    assert "Being signed — ready within a minute" in page
    latest = AuditEvent.objects.filter(actor_id=str(carol.pk)).order_by("-seq").first()
    assert client.get(reverse("portal:proof", args=["acme", latest.seq])).status_code == 404


def test_the_client_downloads_the_latest_checkpoint(client, carol, decided, audit_signer):
    client.force_login(carol)
    response = client.get(reverse("portal:proof_checkpoint", args=["acme"]))
    assert response.content.decode().startswith("tests.human-touch.local/audit/acme\n")


def test_the_client_downloads_the_verifier_itself(client, carol):
    client.force_login(carol)
    response = client.get(reverse("portal:proof_tool"))
    assert response.content.decode() == TOOL.read_text()
