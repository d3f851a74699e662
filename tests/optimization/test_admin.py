"""The Django admin shows plans and the manifest read-only."""

import pytest

from audit.actors import Actor
from optimization.services import manifest_sync
from plans.services import plan_version_import_approved
from tenants.services import user_ensure
from tests.conftest import PASSWORD
from tests.plans.plan_samples import winter_plan

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")


@pytest.fixture
def superuser_client(client):
    user_ensure(username="root", password=PASSWORD, is_superuser=True)
    client.login(username="root", password=PASSWORD)
    return client


def test_admin_lists_versions_tracks_and_manifest_without_edit_buttons(superuser_client, acme):
    version = plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=SEED,
        approved_by="tests",
    )
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        actor=SEED,
        entries=[
            {
                "platform": "meta",
                "entity_id": "adset-7",
                "channel": "social",
                "plan_version": version.number,
                "state": {"daily_budget": "10"},
            }
        ],
        launched_by="tests",
    )
    for url, text in [
        ("/admin/plans/planversion/", "always_on"),
        ("/admin/plans/track/", "always_on"),
        ("/admin/plans/masterplan/", "0 master plans"),
        ("/admin/optimization/executionmanifestentry/", "adset-7"),
    ]:
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode()
        assert f'href="{url}add/"' not in response.content.decode()
    detail = superuser_client.get(f"/admin/plans/planversion/{version.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_the_optimization_log_recommendations_and_performance_are_read_only(superuser_client, acme):
    for model in ("changeset", "recommendation", "performancerow"):
        url = f"/admin/optimization/{model}/"
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        assert f'href="{url}add/"' not in response.content.decode()


def test_a_calendar_entry_is_added_and_removed_in_admin_through_its_service(superuser_client, acme):
    from audit.models import AuditEvent
    from optimization.models import SeasonalChange
    from plans.models import Track

    plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=SEED,
        approved_by="tests",
    )
    track = Track.objects.get(tenant=acme, key="always_on")
    form = {
        "track": track.pk,
        "channel": "search",
        "starts_on": "2026-12-20",
        "ends_on": "2026-12-31",
        "budget": "9000",
        "note": "Christmas push",
    }
    refused = superuser_client.post(
        "/admin/optimization/seasonalchange/add/", {**form, "channel": "tiktok"}
    )
    assert refused.status_code == 200
    assert "no channel &#x27;tiktok&#x27; in its approved plan" in refused.content.decode()
    assert not SeasonalChange.objects.exists()

    response = superuser_client.post("/admin/optimization/seasonalchange/add/", form)
    assert response.status_code == 302
    change = SeasonalChange.objects.get()
    assert (change.tenant, change.created_by, change.note) == (acme, "root", "Christmas push")
    assert AuditEvent.objects.filter(action="seasonal_change.set").count() == 1

    response = superuser_client.post(
        f"/admin/optimization/seasonalchange/{change.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not SeasonalChange.objects.exists()
    assert AuditEvent.objects.filter(action="seasonal_change.removed").count() == 1


def test_a_tenant_admin_sees_only_the_tenants_they_administer(acme, globex, rf):
    from django.contrib import admin

    from optimization.admin import ExecutionManifestEntryAdmin
    from optimization.models import ExecutionManifestEntry
    from tenants.models import Role
    from tenants.services import membership_set

    for tenant, entity in ((acme, "acme-adset"), (globex, "globex-adset")):
        version = plan_version_import_approved(
            tenant=tenant,
            track_key="always_on",
            kind="initial",
            payload=winter_plan(),
            actor=SEED,
            approved_by="tests",
        )
        manifest_sync(
            tenant=tenant,
            track_key="always_on",
            actor=SEED,
            entries=[
                {
                    "platform": "meta",
                    "entity_id": entity,
                    "channel": "social",
                    "plan_version": version.number,
                    "state": {"daily_budget": "10"},
                }
            ],
            launched_by="tests",
        )
    ada = user_ensure(username="ada", password=PASSWORD)
    membership_set(tenant=acme, user=ada, role=Role.ADMIN, actor=SEED)
    membership_set(tenant=globex, user=ada, role=Role.OPERATOR, actor=SEED)
    request = rf.get("/admin/optimization/executionmanifestentry/")
    request.user = ada
    model_admin = ExecutionManifestEntryAdmin(ExecutionManifestEntry, admin.site)
    assert [e.entity_id for e in model_admin.get_queryset(request)] == ["acme-adset"]
