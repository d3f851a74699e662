"""Reconciliation (issue 17 item 5): agents report what the platforms run, `reconcile` opens one
A6 per entity that differs from the manifest beyond the tolerance, the A6 blocks automated
changes to that entity (423 `reconciliation_pending`) until an admin accepts the platform's
value or restores the manifest's."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import (
    ChangeSet,
    ExecutionManifestEntry,
    PlatformObservation,
    Reconciliation,
)
from optimization.services import manifest_sync
from optimization.services.reconcile import observations_report, reconcile
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW, entry

pytestmark = pytest.mark.django_db
AGENT = Actor.service("execution-agent")


def observation(entity_id="social-prospecting", platform="meta", minutes_ago=5, **figures):
    return {
        "platform": platform,
        "entity_id": entity_id,
        "status": "active",
        "daily_budget": "333.33",
        "spend_to_date": "1200.00",
        "observed_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
        **figures,
    }


def report(tenant, *observations):
    return observations_report(
        tenant=tenant, track_key="always_on", observations=list(observations), actor=AGENT
    )


def post(client, headers, path, body):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers
    )


def social(tenant) -> ExecutionManifestEntry:
    return ExecutionManifestEntry.objects.get(tenant=tenant, entity_id="social-prospecting")


@pytest.fixture
def admin(acme, make_member):
    return make_member("ada", acme, Role.ADMIN)


@pytest.fixture
def a6(live):
    """The platform runs social at €380 a day (the manifest says €333.33): an A6 is open."""
    report(live, observation(daily_budget="380.00"))
    opened = reconcile(tenant=live).opened
    assert len(opened) == 1
    return Ticket.objects.get(public_id=opened[0])


SOCIAL_UP = {
    "change_set_id": "social-up",
    "track": "always_on",
    "agent": "bid-optimizer",
    "reason": "social CPA under target",
    "items": [
        {
            "entity_id": "social-prospecting",
            "field": "daily_budget",
            "before": "333.33",
            "after": "340.00",
        }
    ],
}


# --- The bypass of today's code: nothing opened an A6 that blocks anything -------------------
def test_a_platform_running_another_budget_opens_one_a6_for_the_admin_with_both_figures(a6):
    assert (a6.type, a6.status, a6.subject_type) == ("A6", "open", "reconciliation")
    assert a6.required_roles == ["admin"]
    assert not a6.client_visible
    assert "the platform runs daily budget €380 (manifest says €333.33)" in a6.diff["summary"][0]
    assert a6.diff["raw"]["history"][0]["daily_budget"] == "380.00"
    reconciliation = Reconciliation.objects.get()
    assert reconciliation.ticket == a6.public_id
    assert reconciliation.differences == {
        "daily_budget": {"manifest": "333.33", "platform": "380.00"}
    }


def test_a_change_set_on_an_entity_under_reconciliation_is_refused_and_changes_nothing(
    client, a6, acme_headers
):
    response = post(client, acme_headers, "/change-sets", SOCIAL_UP)
    assert response.status_code == 423
    body = response.json()
    assert body["error"] == "reconciliation_pending"
    assert a6.public_id in body["detail"]
    assert not ChangeSet.objects.exists()
    assert social(a6.tenant).state["daily_budget"] == "333.33"


def test_a_manifest_sync_changing_an_entity_under_reconciliation_is_refused(a6, acme_headers):
    changed = entry("social-prospecting", "social", "300.00")
    response = Client().put(
        "/api/v1/tracks/always_on/manifest",
        json.dumps({"entries": [changed]}),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 423
    assert response.json()["error"] == "reconciliation_pending"
    assert social(a6.tenant).state["daily_budget"] == "333.33"
    # The same entity synced as it is changes nothing and goes through.
    same = entry("social-prospecting", "social", "333.33")
    response = Client().put(
        "/api/v1/tracks/always_on/manifest",
        json.dumps({"entries": [same]}),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 200


def test_other_entities_of_the_track_still_take_changes(client, a6, acme_headers):
    body = {
        **SOCIAL_UP,
        "change_set_id": "search-up",
        "items": [
            {"entity_id": "search-brand", "field": "daily_budget", "before": 300, "after": 310}
        ],
    }
    assert post(client, acme_headers, "/change-sets", body).json()["status"] == "applied"


# --- The admin decides ----------------------------------------------------------------------
def test_accepting_the_platforms_value_moves_the_manifest_and_unblocks_the_entity(
    client, a6, admin, acme_headers
):
    ticket_decide(
        ticket=a6,
        actor=Actor.for_user(admin),
        verdict="approve",
        comment="The client raised it in Ads Manager on purpose.",
    )
    assert social(a6.tenant).state["daily_budget"] == "380.00"
    reconciliation = Reconciliation.objects.get()
    assert reconciliation.status == "accepted"
    assert reconciliation.decision_note == "The client raised it in Ads Manager on purpose."
    override = AuditEvent.objects.get(action="reconciliation.accepted")
    assert override.data["override"] is True
    assert override.data["reason"] == "The client raised it in Ads Manager on purpose."
    assert override.actor_label == "ada"
    # Allowed now, on the accepted value.
    body = {**SOCIAL_UP, "items": [{**SOCIAL_UP["items"][0], "before": "380.00"}]}
    assert post(client, acme_headers, "/change-sets", body).status_code == 201
    # And the same observation never opens another A6.
    assert reconcile(tenant=a6.tenant).opened == []


def test_restoring_the_manifests_value_is_alignment_work_the_agent_applies(
    client, a6, admin, acme_headers, on_10_november
):
    ticket_decide(
        ticket=a6, actor=Actor.for_user(admin), verdict="reject", comment="Not approved by us."
    )
    assert social(a6.tenant).state["daily_budget"] == "333.33"
    listed = client.get("/api/v1/tracks/always_on/reconciliations", **acme_headers).json()
    assert listed["reconciliations"][0]["status"] == "restoring"
    assert listed["reconciliations"][0]["restore"] == {"daily_budget": "333.33"}
    # The restore is alignment work: the platform's €380 back to the manifest's €333.33.
    work = client.get("/api/v1/tracks/always_on/alignment", **acme_headers).json()
    assert work["aligned"] is False
    assert work["entities"] == [
        {
            "entity_id": "social-prospecting",
            "platform": "meta",
            "field": "daily_budget",
            "live": "380.00",
            "target": "333.33",
        }
    ]
    # Until it is restored the entity takes no agent change, and no new A6 opens.
    refused = post(client, acme_headers, "/change-sets", SOCIAL_UP)
    assert refused.status_code == 423
    assert refused.json()["error"] == "reconciliation_pending"
    assert "alignment change set" in refused.json()["detail"]
    on_10_november.shift(timedelta(minutes=30))
    report(a6.tenant, observation(daily_budget="380.00", minutes_ago=-20))
    assert reconcile(tenant=a6.tenant).opened == []
    # Anything but the manifest's value is refused, nothing written.
    wrong = {
        "change_set_id": "restore-wrong",
        "track": "always_on",
        "kind": "alignment",
        "items": [
            {
                "entity_id": "social-prospecting",
                "field": "daily_budget",
                "before": "380.00",
                "after": "340.00",
            }
        ],
    }
    assert post(client, acme_headers, "/change-sets", wrong).status_code == 422
    assert Reconciliation.objects.get().status == "restoring"
    restore = {
        **wrong,
        "change_set_id": "restore-social",
        "items": [{**wrong["items"][0], "after": "333.33"}],
    }
    applied = post(client, acme_headers, "/change-sets", restore)
    assert applied.status_code == 201, applied.content
    assert (applied.json()["status"], applied.json()["ticket"]) == ("applied", None)
    assert Reconciliation.objects.get().status == "restored"
    assert AuditEvent.objects.filter(action="reconciliation.restored").count() == 1
    # The manifest did not move (the platform did): no drift is recorded for it.
    assert social(a6.tenant).state["daily_budget"] == "333.33"
    assert ChangeSet.objects.get(change_set_id="restore-social").applied.get().delta == 0
    assert client.get("/api/v1/tracks/always_on/alignment", **acme_headers).json()["aligned"]
    # The 423 is cleared: the agent's own changes apply again.
    assert post(client, acme_headers, "/change-sets", SOCIAL_UP).status_code == 201


def test_a_restoration_also_closes_when_the_platform_is_seen_to_follow(a6, admin, on_10_november):
    ticket_decide(
        ticket=a6, actor=Actor.for_user(admin), verdict="reject", comment="Not approved by us."
    )
    on_10_november.shift(timedelta(minutes=30))
    report(a6.tenant, observation(daily_budget="333.33", minutes_ago=-25))
    result = reconcile(tenant=a6.tenant)
    assert (result.opened, result.restored) == ([], 1)
    assert Reconciliation.objects.get().status == "restored"


def test_a_difference_within_the_tolerance_opens_nothing(live):
    report(live, observation(daily_budget="339.00"))  # +1.7% of €333.33
    assert reconcile(tenant=live).opened == []
    TenantPolicy.objects.filter(tenant=live).update(reconciliation_tolerance_pct=Decimal("1"))
    assert len(reconcile(tenant=live).opened) == 1


def test_a_status_the_platform_runs_otherwise_opens_an_a6(live):
    report(live, observation(status="paused"))
    assert len(reconcile(tenant=live).opened) == 1
    assert Reconciliation.objects.get().differences == {
        "status": {"manifest": "active", "platform": "paused"}
    }


def test_a_second_run_opens_nothing(a6):
    assert reconcile(tenant=a6.tenant).opened == []
    assert Ticket.objects.filter(type="A6").count() == 1
    call_command("reconcile", "--tenant", "acme")
    assert Ticket.objects.filter(type="A6").count() == 1


def test_the_reconcile_schedule_runs_every_fifteen_minutes():
    from ops.management.commands.setup_schedules import SCHEDULES

    (spec,) = [s for s in SCHEDULES if s["name"] == "optimization.reconcile"]
    assert (spec["func"], spec["minutes"]) == ("optimization.tasks.reconcile", 15)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reconciles_at_once_open_one_a6(on_10_november, acme, acme_v1):
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[entry(f"social-{n}", "social", "100.00") for n in range(6)],
        actor=TEST_ACTOR,
    )
    report(
        acme,
        *[observation(f"social-{n}", daily_budget="150.00") for n in range(6)],
    )
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(reconcile(tenant=acme))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(r.opened) for r in results) == 6
    assert sum(r.failed for r in results) == 0
    assert Ticket.objects.filter(type="A6").count() == 6
    assert Reconciliation.objects.count() == 6


# --- The endpoint ---------------------------------------------------------------------------
def test_observations_are_stored_and_a_replay_stores_nothing_more(client, live, acme_headers):
    body = {"observations": [observation(daily_budget=380)]}
    first = post(client, acme_headers, "/tracks/always_on/observations", body)
    again = post(client, acme_headers, "/tracks/always_on/observations", body)
    assert (first.status_code, first.json()) == (200, {"accepted": 1})
    assert (again.status_code, again.json()) == (200, {"accepted": 1})
    (stored,) = PlatformObservation.objects.all()
    assert (stored.daily_budget, stored.status) == (Decimal("380.00"), "active")
    assert AuditEvent.objects.filter(action="observations.reported").count() == 1


def test_the_same_moment_with_other_figures_is_a_conflict(client, live, acme_headers):
    post(client, acme_headers, "/tracks/always_on/observations", {"observations": [observation()]})
    other = {"observations": [observation(daily_budget="1.00")]}
    response = post(client, acme_headers, "/tracks/always_on/observations", other)
    assert response.status_code == 409
    assert response.json()["error"] == "observation_conflict"
    assert PlatformObservation.objects.get().daily_budget == Decimal("333.33")


@pytest.mark.parametrize(
    ("path", "item", "status", "error", "field"),
    [
        ("/tracks/nope/observations", {}, 404, "unknown_track", None),
        (
            "/tracks/always_on/observations",
            {"entity_id": "ghost-2291"},
            422,
            "unknown_entity",
            "observations[0].entity_id",
        ),
        (
            "/tracks/always_on/observations",
            {"entity_id": "social\x00prospecting"},
            422,
            "invalid_observation",
            "observations[0].entity_id",
        ),
        (
            "/tracks/always_on/observations",
            {"observed_at": (NOW + timedelta(days=1)).isoformat()},
            422,
            "observed_at_in_future",
            "observations[0].observed_at",
        ),
        (
            "/tracks/always_on/observations",
            {"observed_at": "2026-11-10T09:00:00"},
            422,
            "invalid_observation",
            "observations[0].observed_at",
        ),
        (
            "/tracks/always_on/observations",
            {"daily_budget": "-5"},
            422,
            "invalid_observation",
            "observations[0].daily_budget",
        ),
        (
            "/tracks/always_on/observations",
            {"status": "exploded"},
            422,
            "invalid_observation",
            "observations[0].status",
        ),
    ],
)
def test_bad_observations_are_refused_clearly_and_store_nothing(
    client, live, acme_headers, path, item, status, error, field
):
    bad = {**observation("search-brand", "google_ads"), **item}
    body = {"observations": [observation(), bad]}
    if field:
        field = field.replace("[0]", "[1]")
    response = post(client, acme_headers, path, body)
    assert response.status_code == status, response.content
    answer = response.json()
    assert answer["error"] == error
    assert answer["detail"]
    if field:
        assert field in answer["fields"]
    assert not PlatformObservation.objects.exists()
    assert not AuditEvent.objects.filter(action="observations.reported").exists()


def test_an_empty_or_malformed_body_is_a_422(client, live, acme_headers):
    for body in ({"observations": []}, {"observations": "x"}, {}, {"observations": [1]}):
        response = post(client, acme_headers, "/tracks/always_on/observations", body)
        assert response.status_code == 422
        assert set(response.json()) >= {"error", "detail"}
    assert not PlatformObservation.objects.exists()


def test_another_tenants_entity_is_unknown(client, live, globex, acme_headers):
    assert timezone.now() == NOW
    response = post(
        client,
        acme_headers,
        "/tracks/always_on/observations",
        {"observations": [observation("globex-social-checkups")]},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_entity"


# --- The demo's A6 comes from a real observation ---------------------------------------------
def test_the_demos_a6_names_a_real_entity_and_approving_it_moves_the_manifest(db):
    from io import StringIO

    import time_machine

    from tests.optimization.test_demo import DEMO_DAY

    with time_machine.travel(DEMO_DAY, tick=True):
        call_command("seed_demo", stdout=StringIO())
        (a6,) = Ticket.objects.filter(tenant__slug="acme", type="A6", status="open")
        reconciliation = Reconciliation.objects.get(ticket=a6.public_id)
        film = reconciliation.manifest_entry
        assert film.entity_id == "acme-brand-film"
        assert reconciliation.differences["daily_budget"] == {
            "manifest": film.state["daily_budget"],
            "platform": "420.00",
        }
        assert PlatformObservation.objects.filter(
            manifest_entry=film, daily_budget=Decimal("420.00")
        ).exists()
        call_command("seed_demo", stdout=StringIO())
        assert Ticket.objects.filter(tenant__slug="acme", type="A6").count() == 1
        admin = a6.tenant.memberships.get(role=Role.ADMIN).user
        ticket_decide(ticket=a6, actor=Actor.for_user(admin), verdict="approve")
        film.refresh_from_db()
        assert film.state["daily_budget"] == "420.00"


# --- Django admin: the same A6 decision ----------------------------------------------------------
def test_django_admins_actions_decide_the_a6_itself(client, a6, make_member):
    root = make_member("root", a6.tenant, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(root)
    reconciliation = Reconciliation.objects.get()
    response = client.post(
        "/admin/optimization/reconciliation/",
        {"action": "accept_platform_value", "_selected_action": [reconciliation.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"{a6.public_id}: Platform&#x27;s value accepted" in response.content.decode()
    a6.refresh_from_db()
    assert a6.status == "approved"
    assert social(a6.tenant).state["daily_budget"] == "380.00"
    assert Reconciliation.objects.get().status == "accepted"
