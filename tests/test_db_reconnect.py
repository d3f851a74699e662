"""Connections survive a database restart: a worker's kept connection is checked before reuse
(CONN_HEALTH_CHECKS), so the first request after the server dropped it reconnects instead of
failing with a 500 — and while the database can't be reached at all, the API answers 503
`unavailable` with Retry-After, not a 500."""

from __future__ import annotations

import json
import socket
from contextlib import contextmanager

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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@contextmanager
def database_down():
    """The app's database goes away (nothing listens on its port) until the block ends."""
    db = connection.settings_dict
    kept = db["HOST"], db["PORT"]
    connection.close()
    db["HOST"], db["PORT"] = "127.0.0.1", closed_port()
    try:
        yield
    finally:
        connection.close()
        db["HOST"], db["PORT"] = kept


def serve_with_headers(path: str, headers: dict) -> tuple[str, dict, dict]:
    environ = RequestFactory().get(path, **headers).environ
    answer = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = status, dict(response_headers)

    body = b"".join(WSGIHandler()(environ, start_response))
    return answer["status"], answer["headers"], json.loads(body)


@pytest.mark.parametrize("path", ["/api/v1/whoami", "/api/v1/runs/run-1"])
def test_while_the_database_is_down_the_api_answers_503_unavailable(acme_headers, path):
    with database_down():
        status, headers, body = serve_with_headers(path, acme_headers)

    assert status == "503 Service Unavailable"
    assert headers["Retry-After"] == "10"
    assert body["error"] == "unavailable"
    assert "database" in body["detail"]
    # And once it is back, the next request is served.
    assert serve_with_headers("/api/v1/whoami", acme_headers)[0] == "200 OK"
