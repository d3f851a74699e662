"""Onboarding (issue 17 item 4): an agent requests access to a platform account (an A4 opens);
until the A4 is approved and the agent reports the access verified, no manifest entity on that
account syncs live (423 `account_not_onboarded`)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry, PlatformAccount
from optimization.selectors import tenant_onboarding
from tenants.models import Role, TenantPolicy
from tests.optimization.conftest import entry

pytestmark = pytest.mark.django_db
REQUEST = {
    "platform": "meta",
    "kind": "ad_account",
    "external_id": "act_55120",
    "agent": "onboarding-agent",
}


def post(client, headers, path, body):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers
    )


def sync(headers, *entries):
    return Client().put(
        "/api/v1/tracks/always_on/manifest",
        json.dumps({"entries": list(entries)}),
        content_type="application/json",
        **headers,
    )


def on_account(entity_id="social-new", status="active", account="act_55120"):
    row = entry(entity_id, "social", "100.00", status=status)
    row["state"]["account"] = account
    return row


@pytest.fixture
def admin(acme, make_member):
    return make_member("ada", acme, Role.ADMIN)


@pytest.fixture
def requested(client, acme, acme_v1, acme_headers):
    response = post(client, acme_headers, "/platform-accounts", REQUEST)
    assert response.status_code == 201, response.content
    return response.json()


def test_an_access_request_opens_one_a4_for_the_admin(requested):
    assert requested["state"] == "requested"
    ticket = Ticket.objects.get(public_id=requested["ticket"])
    assert (ticket.type, ticket.status, ticket.subject_type) == ("A4", "open", "platform_account")
    assert ticket.required_roles == ["admin/client"]
    assert not ticket.client_visible  # so the admin's alone
    assert AuditEvent.objects.filter(action="platform_account.requested").count() == 1


def test_the_same_request_again_answers_the_same_account(client, requested, acme_headers):
    again = post(client, acme_headers, "/platform-accounts", REQUEST)
    assert (again.status_code, again.json()) == (200, requested)
    assert Ticket.objects.filter(type="A4").count() == 1
    other = post(client, acme_headers, "/platform-accounts", {**REQUEST, "kind": "pixel"})
    assert other.status_code == 409
    assert set(other.json()) >= {"error", "detail"}


def test_a_client_owned_asset_may_be_granted_by_the_client(client, acme, acme_headers, make_member):
    body = {**REQUEST, "external_id": "bm_9001", "kind": "business_manager", "client_owned": True}
    answer = post(client, acme_headers, "/platform-accounts", body).json()
    ticket = Ticket.objects.get(public_id=answer["ticket"])
    assert ticket.client_visible
    carla = make_member("carla", acme, Role.CLIENT)
    ticket_decide(ticket=ticket, actor=Actor.for_user(carla), verdict="approve")
    assert PlatformAccount.objects.get(external_id="bm_9001").state == "granted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**REQUEST, "kind": "mainframe"}, "kind"),
        ({**REQUEST, "external_id": "act\x0055120"}, "external_id"),
        ({**REQUEST, "external_id": ""}, "external_id"),
        ({**REQUEST, "platform": "x" * 61}, "platform"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(client, acme, acme_headers, body, field):
    response = post(client, acme_headers, "/platform-accounts", body)
    assert response.status_code == 422
    answer = response.json()
    assert set(answer) >= {"error", "detail"}
    assert not PlatformAccount.objects.exists()
    assert not Ticket.objects.exists()


# --- What A4 blocks: an entity on the account going live --------------------------------------
def test_nothing_on_the_account_syncs_live_until_granted_and_verified(
    client, requested, admin, acme_headers
):
    refused = sync(acme_headers, on_account())
    assert refused.status_code == 423
    assert refused.json()["error"] == "account_not_onboarded"
    assert requested["ticket"] in refused.json()["detail"]
    assert not ExecutionManifestEntry.objects.filter(entity_id="social-new").exists()
    # Set up paused, it syncs: only going live waits.
    assert sync(acme_headers, on_account(status="paused")).status_code == 200

    ticket_decide(
        ticket=Ticket.objects.get(public_id=requested["ticket"]),
        actor=Actor.for_user(admin),
        verdict="approve",
    )
    assert PlatformAccount.objects.get().state == "granted"
    still = sync(acme_headers, on_account())
    assert (still.status_code, still.json()["error"]) == (423, "account_not_onboarded")

    verified = post(client, acme_headers, f"/platform-accounts/{requested['id']}/verified", {})
    assert (verified.status_code, verified.json()["state"]) == (200, "ready")
    # Onboarded: the sync goes through (first launches without an A2 here: test_launches.py).
    TenantPolicy.objects.filter(tenant__slug="acme").update(first_launch_requires_human=False)
    assert sync(acme_headers, on_account()).status_code == 200
    live = ExecutionManifestEntry.objects.get(entity_id="social-new")
    assert live.state["status"] == "active"
    assert live.first_active_at is not None


def test_a_change_set_launching_an_entity_on_the_account_waits_for_it(
    client, requested, acme_headers
):
    sync(acme_headers, on_account(status="paused"))
    body = {
        "change_set_id": "launch-social-new",
        "track": "always_on",
        "items": [
            {"entity_id": "social-new", "field": "status", "before": "paused", "after": "active"}
        ],
    }
    response = post(client, acme_headers, "/change-sets", body)
    assert (response.status_code, response.json()["error"]) == (423, "account_not_onboarded")


def test_an_unknown_account_is_a_clear_422(client, acme, acme_v1, acme_headers):
    response = sync(acme_headers, on_account(account="act_nobody"))
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_account"
    assert not ExecutionManifestEntry.objects.exists()


def test_verifying_before_the_a4_is_approved_is_a_409_and_an_unknown_id_a_404(
    client, requested, acme_headers
):
    early = post(client, acme_headers, f"/platform-accounts/{requested['id']}/verified", {})
    assert (early.status_code, early.json()["error"]) == (409, "invalid_status")
    assert PlatformAccount.objects.get().state == "requested"
    for account_id in (999999, 2**70):
        missing = post(client, acme_headers, f"/platform-accounts/{account_id}/verified", {})
        assert missing.status_code in (404, 422)
        assert set(missing.json()) >= {"error", "detail"}


def test_a_rejected_a4_refuses_the_access(requested, admin):
    ticket_decide(
        ticket=Ticket.objects.get(public_id=requested["ticket"]),
        actor=Actor.for_user(admin),
        verdict="reject",
        comment="Wrong account.",
    )
    assert PlatformAccount.objects.get().state == "refused"


def test_onboarding_completion_is_when_the_last_account_a_track_uses_is_ready(
    client, requested, admin, acme, acme_headers
):
    sync(acme_headers, on_account(status="paused"))
    (row,) = tenant_onboarding(tenant=acme)["tracks"]
    assert (row["completed_at"], row["waiting"]) == (None, ["meta:act_55120"])
    ticket_decide(
        ticket=Ticket.objects.get(public_id=requested["ticket"]),
        actor=Actor.for_user(admin),
        verdict="approve",
    )
    post(client, acme_headers, f"/platform-accounts/{requested['id']}/verified", {})
    (row,) = tenant_onboarding(tenant=acme)["tracks"]
    assert row["completed_at"] == PlatformAccount.objects.get().ready_at


def test_the_onboarding_page_shows_each_account_and_its_state(client, requested, admin):
    client.force_login(admin)
    page = client.get("/t/acme/onboarding/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "meta:act_55120" in text
    assert "Requested" in text
    assert requested["ticket"] in text
