"""The agent API skips the middleware only pages need (issue 21.4, config/middleware.py
Pages*Middleware); pages, and the API's own HTML docs, keep every one of them."""

from __future__ import annotations

import pytest

from tests.conftest import agent_headers

pytestmark = pytest.mark.django_db


def test_an_api_call_gets_no_session_user_csp_or_frame_headers(client, acme):
    response = client.get("/api/v1/whoami", secure=True, **agent_headers(acme))
    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"
    assert "Content-Security-Policy" not in response
    assert "sessionid" not in response.cookies
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "user")


def test_a_page_keeps_session_user_csp_and_frame_policy(client, alice):
    client.force_login(alice)
    response = client.get("/", secure=True, follow=True)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"
    assert response.wsgi_request.user == alice


def test_the_api_docs_page_keeps_the_strict_policy(client):
    response = client.get("/api/v1/docs", secure=True)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert "X-Frame-Options" in response


def test_a_wrong_key_is_still_a_json_401_without_the_page_stack(client):
    response = client.get("/api/v1/whoami", HTTP_AUTHORIZATION="Bearer ht_nope_nope", secure=True)
    assert response.status_code == 401
    assert response.json()["error"]
    assert "Content-Security-Policy" not in response


def test_the_admin_and_deployment_checks_still_find_their_middleware():
    from django.core import checks

    serious = [m.id for m in checks.run_checks(include_deployment_checks=True) if m.is_serious()]
    assert not {"admin.E408", "admin.E409", "admin.E410"} & set(serious)
