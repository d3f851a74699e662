"""403, 404 and 500 pages in the product's layout, saying why — and refusals logged as one line,
not as a traceback."""

from __future__ import annotations

import logging

import pytest
from django.http import Http404
from django.urls import include, path

from approvals.models import TicketComment
from config.logging import RefusalsWithoutTraceback
from tenants.access import roles_in_words
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


@pytest.mark.parametrize(
    ("roles", "words"),
    [
        ({Role.ADMIN}, "the admin role"),
        ({Role.ADMIN, Role.OPERATOR}, "the operator or admin role"),
        ({Role.ADMIN, Role.OPERATOR, Role.PLANNER}, "one of the planner, operator or admin roles"),
        (
            {Role.ADMIN, Role.OPERATOR, Role.PLANNER, Role.LEGAL},
            "a staff role (planner, operator, legal or admin)",
        ),
    ],
)
def test_the_roles_a_page_needs_read_as_words(roles, words):
    assert roles_in_words(roles) == words


def test_a_client_refused_a_staff_page_sees_the_portal_not_the_staff_menu(
    client, acme, make_member
):
    client.force_login(make_member("clara", acme, Role.CLIENT))
    response = client.get(f"/t/{acme.slug}/plans/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'aria-label="Portal"' in page
    assert 'aria-label="Main"' not in page
    assert "This page is not part of your portal" in page
    for staff_word in ("role", "Dashboard", "Runs", "Audit", "/plans/"):
        assert staff_word not in page.split("<main", 1)[1], staff_word


def test_a_clients_404_is_the_portals(client, acme, make_member):
    client.force_login(make_member("clara", acme, Role.CLIENT))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'aria-label="Portal"' in page
    assert 'aria-label="Main"' not in page
    assert "Go to what is waiting for you" in page


def test_a_staff_404_keeps_the_dashboard_layout(client, acme, make_member):
    client.force_login(make_member("otto", acme, Role.OPERATOR))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'aria-label="Main"' in response.content.decode()


def boom(request):
    raise RuntimeError("the disk is full")


def missing(request):
    raise Http404("No Plan matches the given query.")


urlpatterns = [path("boom/", boom), path("missing/", missing), path("", include("config.urls"))]


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.parametrize("url", ["/no-such-page/", "/missing/"])
def test_with_debug_on_a_404_is_still_the_products_page(client, settings, url):
    settings.DEBUG = True
    response = client.get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-testid="error-404"' in page
    assert "URLconf" not in page and "DEBUG = True" not in page


@pytest.mark.urls("tests.test_error_pages")
def test_with_debug_on_a_500_is_still_the_products_page(client, settings):
    settings.DEBUG = True
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'data-testid="error-500"' in page
    assert "the disk is full" not in page and "Traceback" not in page


@pytest.mark.urls("tests.test_error_pages")
def test_a_developer_turns_the_technical_pages_on_with_a_setting(client, settings):
    settings.DEBUG = True
    settings.TECHNICAL_ERROR_PAGES = True
    assert "URLconf" in client.get("/no-such-page/").content.decode()
    client.raise_request_exception = False
    assert "the disk is full" in client.get("/boom/").content.decode()


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


@pytest.mark.parametrize("csrf_checked", [False, True], ids=["the-view-reads", "csrf-reads"])
def test_a_page_post_over_the_size_limit_gets_the_products_page_saying_so(
    acme, alice, settings, csrf_checked
):
    from django.test import Client

    from tests.approvals.factories import open_ticket

    ticket = open_ticket(acme, "A1")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client(enforce_csrf_checks=csrf_checked)
    client.force_login(alice)
    client.get("/")  # the CSRF cookie, as a browser holds it

    response = client.post(f"/tickets/{ticket.public_id}/comments/", {"body": "x" * 20_000})

    assert response.status_code == 413
    page = response.content.decode()
    assert "Too much sent at once" in page
    assert "more than the limit of 10,000 bytes" in page
    assert "Nothing was saved" in page
    assert not TicketComment.objects.exists()
    assert 'class="mainnav"' in page  # the product's layout, not a bare "Bad Request (400)"
    assert "no-store" in response["Cache-Control"]


def test_a_page_post_with_too_many_fields_gets_the_same_page(client, acme, alice, settings):
    from tests.approvals.factories import open_ticket

    ticket = open_ticket(acme, "A1")
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    client.force_login(alice)

    response = client.post(
        f"/tickets/{ticket.public_id}/comments/", {f"f{i}": "x" for i in range(20)}
    )

    assert response.status_code == 413
    assert "Too much sent at once" in response.content.decode()


def test_an_api_body_over_the_limit_outside_an_endpoint_is_still_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = client.post("/api/v1/no-such-endpoint", {"x": "y" * 20_000})
    assert response.status_code in (404, 413)
    assert response["Content-Type"].startswith("application/json")


def test_a_form_htmx_sent_over_the_limit_gets_the_whole_page_swapped_in(
    client, acme, alice, settings
):
    from tests.approvals.factories import open_ticket

    ticket = open_ticket(acme, "A1")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(alice)

    response = client.post(
        f"/tickets/{ticket.public_id}/comments/", {"body": "x" * 20_000}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 413
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("body", "innerHTML")
    assert "Too much sent at once" in response.content.decode()
