"""The audit log names a track by its key (issue 18 item 6): audit imports no other app, so plans
registers a resolver (plans/apps.py → audit/resources.py) — "Track always_on", never "Track 1"."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from audit.resources import resource_name
from plans.models import Track

pytestmark = pytest.mark.django_db


def test_the_audit_log_names_the_track_by_its_key_and_links_its_versions(
    client, acme, acme_v1, alice
):
    track = Track.objects.get(tenant=acme, key="always_on")
    assert AuditEvent.objects.filter(resource_type="track", resource_id=str(track.pk)).exists()
    client.force_login(alice)
    page = client.get("/t/acme/audit/?resource_type=track").content.decode()
    assert '<a href="/t/acme/plans/tracks/always_on/">Track always_on</a>' in page
    assert f"Track {track.pk}<" not in page


def test_a_page_of_track_events_names_them_in_one_query(
    client, acme, acme_v1, alice, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get("/t/acme/audit/")  # warm the session and the tenant
    with django_assert_max_num_queries(12):
        page = client.get("/t/acme/audit/").content.decode()
    assert "Track always_on" in page


def test_another_tenants_track_is_never_named(acme, globex, acme_v1):
    track = Track.objects.get(tenant=acme, key="always_on")
    assert resource_name("acme", "track", str(track.pk)).words == "Track always_on"
    # Asked from globex, acme's track id names nothing it may see: the bare words stay.
    assert resource_name("globex", "track", str(track.pk)).words == f"Track {track.pk}"
    assert resource_name("acme", "track", "not-a-number").words == "Track not-a-number"
