"""Connections survive a database restart: a worker's kept connection is checked before reuse
(CONN_HEALTH_CHECKS), so the first request after the server dropped it reconnects instead of
failing with a 500."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def terminate_app_connections() -> int:
    """What a PostgreSQL restart does to the app: every backend of its database is gone."""
    db = settings.DATABASES["default"]
    conninfo = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        ).fetchone()[0]


def serve(path: str, headers: dict) -> tuple[str, dict]:
    """One request through the real WSGI handler, as a web worker serves it: unlike the test
    client, it runs Django's connection upkeep at the start and end of the request."""
    environ = RequestFactory().get(path, **headers).environ
    answer = {}

    def start_response(status, response_headers):
        answer["status"] = status

    body = b"".join(WSGIHandler()(environ, start_response))
    return answer["status"], json.loads(body)


def test_the_request_after_the_server_dropped_the_connection_succeeds(acme_headers):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert serve("/api/v1/whoami", acme_headers)[0] == "200 OK"
    assert terminate_app_connections() >= 1

    status, body = serve("/api/v1/whoami", acme_headers)

    assert status == "200 OK"
    assert body["tenant"] == "acme"
