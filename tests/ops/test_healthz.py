"""/healthz for load balancers: the database and the cluster's heartbeat, as JSON, 200 or 503."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from ops.models import Heartbeat
from ops.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_a_fresh_heartbeat_and_a_database_answer_200(client):
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True}
    assert body["cluster"]["ok"] is True and body["cluster"]["age_seconds"] < 5


def test_no_heartbeat_yet_is_503_and_says_why(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["cluster"] == {
        "ok": False,
        "detail": "no heartbeat yet (is qcluster running?)",
    }


def test_a_stale_heartbeat_is_503(client):
    Heartbeat.objects.create(name="cluster", beat_at=timezone.now() - timedelta(minutes=4))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["cluster"]["ok"] is False


def test_a_database_that_does_not_answer_is_503(client, monkeypatch):
    def down(self, *args, **kwargs):
        raise OperationalError("connection refused")

    heartbeat()
    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "detail": "connection refused"}


@override_settings(ALLOWED_HOSTS=["ht.example.com"], SECURE_SSL_REDIRECT=True)
def test_a_load_balancer_polls_over_http_by_the_nodes_address(client):
    heartbeat()
    response = client.get("/healthz", HTTP_HOST="10.0.0.12:8000")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_the_heartbeat_is_scheduled_every_minute():
    from io import StringIO

    from django.core.management import call_command
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name="ops.heartbeat")
    assert (schedule.func, schedule.minutes) == ("ops.tasks.heartbeat", 1)
