"""403, 404 and 500 pages in the product's layout, saying why — and refusals logged as one line,
not as a traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import path

from config.logging import RefusalsWithoutTraceback
from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_a_403_names_the_role_the_page_needs_and_the_one_held(client, acme, make_member):
    client.force_login(make_member("otto", acme, Role.OPERATOR))
    response = client.get(f"/t/{acme.slug}/settings/policy/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not do this" in page
    assert "This needs the admin role; you hold the operator role in Acme Retail." in page
    assert 'class="mainnav"' in page  # the product's layout, with its navigation
    assert 'href="/"' in page


def test_a_404_in_the_layout_says_why(client, acme, globex, alice):
    client.force_login(alice)
    response = client.get(f"/t/{globex.slug}/plans/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Not found" in page
    assert "belongs to a tenant you are not a member of" in page
    assert 'class="mainnav"' in page


def boom(request):
    raise RuntimeError("the disk is full")


urlpatterns = [path("boom/", boom)]


@pytest.mark.urls("tests.test_error_pages")
def test_a_500_page_says_the_server_failed_without_details(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "the disk is full" not in page
    assert "css/app.css" in page


@pytest.mark.parametrize(("status", "keeps_traceback"), [(403, False), (404, False), (500, True)])
def test_request_logs_keep_a_traceback_only_for_server_errors(status, keeps_traceback):
    try:
        raise ValueError("why")
    except ValueError:
        import sys

        record = logging.LogRecord("django.request", 40, __file__, 1, "msg", (), sys.exc_info())
    record.status_code = status
    assert RefusalsWithoutTraceback().filter(record) is True
    assert (record.exc_info is not None) is keeps_traceback


def test_the_request_logger_uses_the_filter():
    handlers = logging.getLogger("django.request").handlers
    assert any(
        isinstance(f, RefusalsWithoutTraceback) for handler in handlers for f in handler.filters
    )
