"""The metrics pages and exports: who may read them, the range form (a full page, and the region
htmx swaps), the view across a person's tenants, the CSV of every table keeping the filters, and
the inbox CSV keeping the dashboard's filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from metrics.board import METRIC_KEYS
from tenants.models import Role
from tenants.services import user_ensure
from tests.conftest import PASSWORD
from tests.metrics import factories as f

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def login(client, make_member):
    def as_member(role, tenant, username=None):
        make_member(username or f"{tenant.slug}-{role}", tenant, role)
        client.login(username=username or f"{tenant.slug}-{role}", password=PASSWORD)
        return client

    return as_member


def body(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("role", [Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL])
def test_every_internal_role_reads_the_metrics(login, acme, role):
    response = login(role, acme).get(reverse("metrics:tenant", args=[acme.slug]))
    assert response.status_code == 200
    assert "Ops metrics · Acme Retail" in body(response)


def test_a_client_may_not_and_another_tenant_is_not_there(login, acme, globex, client):
    assert (
        login(Role.CLIENT, acme).get(reverse("metrics:tenant", args=[acme.slug])).status_code == 403
    )
    assert (
        client.get(reverse("metrics:tenant_csv", args=[acme.slug, "overrides"])).status_code == 403
    )
    login(Role.PLANNER, acme, "pia")
    assert client.get(reverse("metrics:tenant", args=[globex.slug])).status_code == 404
    assert (
        client.get(reverse("metrics:tenant_csv", args=[acme.slug, "nonsense"])).status_code == 404
    )


def test_the_default_range_is_the_last_28_days_against_the_28_before(login, acme):
    page = body(login(Role.PLANNER, acme).get(reverse("metrics:tenant", args=[acme.slug])))
    assert (
        "<strong>17 Feb – 16 Mar 2026</strong> (28 days) compared with "
        "<strong>20 Jan – 16 Feb 2026</strong>" in page
    )
    assert 'value="2026-02-17"' in page and 'value="2026-03-16"' in page


def test_changing_the_range_swaps_the_board_for_htmx_and_keeps_it_in_the_csv_links(login, acme):
    f.ticket(
        acme,
        "A1",
        created=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        resolved=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    client = login(Role.PLANNER, acme)
    url = reverse("metrics:tenant", args=[acme.slug])
    query = {"start": "2026-03-01", "end": "2026-03-07", "by": "agent", "days": "3"}
    response = client.get(url, query, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="metrics-board")
    fragment = body(response)
    assert fragment.startswith('\n<div id="metrics-board"') or fragment.lstrip().startswith(
        '<div id="metrics-board"'
    )
    assert "<html" not in fragment
    assert "<strong>1 Mar – 7 Mar 2026</strong> (7 days)" in fragment
    assert "1 approvals, 2h 0m on average" in fragment
    assert "QC first-pass rate by agent" in fragment
    assert "within 3 days" in fragment
    csv_link = reverse("metrics:tenant_csv", args=[acme.slug, "time-to-approve"])
    assert (
        f'href="{csv_link}?start=2026-03-01&amp;end=2026-03-07&amp;by=agent&amp;days=3"' in fragment
    )


def test_a_metrics_table_as_csv_with_the_filters_of_the_page(login, acme):
    for hours in (1, 3):
        f.ticket(
            acme,
            "A1",
            created=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            resolved=datetime(2026, 3, 2, 8 + hours, 0, tzinfo=UTC),
        )
    client = login(Role.OPERATOR, acme)
    response = client.get(
        reverse("metrics:tenant_csv", args=[acme.slug, "time-to-approve"]),
        {"start": "2026-03-01", "end": "2026-03-07"},
    )
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="time-to-approve-acme-2026-03-01-2026-03-07.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == [
        "# Time to approve",
        "range: 2026-03-01..2026-03-07",
        "before: 2026-02-22..2026-02-28",
    ]
    assert rows[1] == [
        "Type",
        "Approved",
        "Mean (hours)",
        "Median (hours)",
        "p90 (hours)",
        "Approved before",
        "Mean before (hours)",
    ]
    assert rows[2] == ["A1 Media plan approval", "2", "2.00", "2.00", "2.80", "0", ""]


@pytest.mark.parametrize("key", METRIC_KEYS)
def test_every_metric_has_its_csv(login, acme, key):
    response = login(Role.PLANNER, acme).get(reverse("metrics:tenant_csv", args=[acme.slug, key]))
    assert response.status_code == 200
    assert csv_rows(response)[1]  # the header row


def test_a_person_in_several_tenants_sees_them_together(login, acme, globex, make_member, client):
    user = make_member("multi", acme, Role.ADMIN)
    make_member("multi", globex, Role.PLANNER)
    f.change_set(acme, created=datetime(2026, 3, 10, tzinfo=UTC))
    f.change_set(
        globex, created=datetime(2026, 3, 10, tzinfo=UTC), status="pending_approval", ticket="T-1"
    )
    client.login(username=user.username, password=PASSWORD)
    tenant_page = body(client.get(reverse("metrics:tenant", args=[acme.slug])))
    assert "All my tenants (2)" in tenant_page
    page = body(client.get(reverse("metrics:all")))
    assert "Ops metrics · all my tenants" in page
    assert "acme · always_on" in page and "globex · always_on" in page
    rows = csv_rows(client.get(reverse("metrics:all_csv", args=["auto-approved"])))
    assert [r[0] for r in rows[2:]] == ["All tracks", "acme · always_on", "globex · always_on"]


def test_someone_with_no_internal_role_has_no_cross_tenant_metrics(login, acme, client):
    login(Role.CLIENT, acme)
    assert client.get(reverse("metrics:all")).status_code == 404


def test_a_platform_superuser_reads_every_tenants_metrics(acme, globex, client):
    """The platform operator (createsuperuser, no membership) runs the platform: the ops metrics
    across every tenant are theirs to read, as Django admin is."""
    user_ensure(username="root", password=PASSWORD, is_superuser=True)
    f.change_set(acme, created=datetime(2026, 3, 10, tzinfo=UTC))
    f.change_set(
        globex, created=datetime(2026, 3, 10, tzinfo=UTC), status="pending_approval", ticket="T-1"
    )
    client.login(username="root", password=PASSWORD)
    response = client.get(reverse("metrics:all"))
    assert response.status_code == 200
    page = body(response)
    assert "Ops metrics · all tenants" in page
    assert "acme · always_on" in page and "globex · always_on" in page
    rows = csv_rows(client.get(reverse("metrics:all_csv", args=["auto-approved"])))
    assert [r[0] for r in rows[2:]] == ["All tracks", "acme · always_on", "globex · always_on"]


def test_the_inbox_csv_keeps_the_dashboards_filters(login, acme, globex, client, make_member):
    make_member("ada", globex, Role.ADMIN)
    opened = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    f.ticket(acme, "A3", created=opened, title="=HYPERLINK(evil)")
    f.ticket(acme, "A1", created=opened)
    f.ticket(acme, "A3", created=opened, resolved=opened, status="approved")
    f.ticket(globex, "A3", created=opened)
    login(Role.ADMIN, acme, "ada")
    dashboard = body(client.get(reverse("dashboard"), {"type": "A3"}))
    csv_url = reverse("metrics:inbox_csv")
    assert f'href="{csv_url}?type=A3"' in dashboard
    rows = csv_rows(client.get(csv_url, {"type": "A3", "tenant": "acme"}))
    assert rows[0][:5] == ["ticket", "tenant", "type", "status", "title"]
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [("acme", "A3", "open")]
    assert rows[1][4] == "'=HYPERLINK(evil)"
    everything = csv_rows(client.get(csv_url, {"status": ""}))
    assert len(everything) == 1 + 4


def test_the_inbox_csv_is_the_dashboards_people_only(login, acme, client):
    login(Role.CLIENT, acme)
    assert client.get(reverse("metrics:inbox_csv")).status_code == 404
