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
