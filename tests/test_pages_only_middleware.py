"""The agent API skips the middleware only pages need (issue 21.4, config/middleware.py
PagesOnlyMiddleware); pages, and the API's own HTML docs, keep every one of them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

from config.middleware import PagesOnlyMiddleware, pages_only_middleware_check
from tests.conftest import agent_headers

pytestmark = pytest.mark.django_db


def test_an_api_call_gets_no_session_user_csp_or_frame_headers(client, acme):
    response = client.get("/api/v1/whoami", secure=True, **agent_headers(acme))
    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"
    assert "Content-Security-Policy" not in response
    assert "X-Frame-Options" not in response
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


def test_a_wrapped_middleware_with_a_view_hook_is_refused(settings):
    settings.PAGES_ONLY_MIDDLEWARE = ["django.middleware.csrf.CsrfViewMiddleware"]
    with pytest.raises(ImproperlyConfigured, match="process_view"):
        PagesOnlyMiddleware(lambda request: HttpResponse())


def test_the_admin_middleware_check_finds_it_wrapped_and_names_it_missing(settings):
    assert pages_only_middleware_check() == []
    settings.PAGES_ONLY_MIDDLEWARE = [
        p for p in settings.PAGES_ONLY_MIDDLEWARE if "sessions" not in p
    ]
    assert [e.id for e in pages_only_middleware_check()] == ["config.E001"]
