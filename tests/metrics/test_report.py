"""The weekly report of acme's always_on track for the week of 9–15 November 2026 (Europe/Berlin):
v1 (the winter plan: search €500 a day, social €333.33 in November) was approved before, and v2
(search +12% from December) on Wednesday the 11th. Agents reported spend, one optimization
applied within the guardrails, an A3 waits for the operator, an A8 is open on a run, the client
was asked about the budget increase. The planner's page, CSV and printable page; the client's
page holds nothing internal."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import Ticket
from metrics.report import weekly_report
from plans.models import Track
from tenants.models import Role
from tests.conftest import PASSWORD
from tests.metrics.worlds import AGENT_NAME, WEEK, report_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(acme, acme_v1, make_member):
    return report_week(acme, acme_v1, make_member)


def report_of(acme, client_safe=False):
    track = Track.objects.select_related("current_version", "tenant").get(
        tenant=acme, key="always_on"
    )
    return weekly_report(
        track=track,
        week_start=WEEK,
        client_safe=client_safe,
        now=datetime(2026, 11, 16, 7, 0, tzinfo=UTC),
    )


def test_the_report_is_anchored_to_the_current_version_and_adds_up_the_week(acme, week):
    report = report_of(acme)
    assert report.version.number == 2
    spend = {row.channel: row for row in report.spend}
    # November: search 15,000 / 30 = 500 a day, social 10,000 / 30 = 333.33 a day.
    assert (spend["search"].planned, spend["search"].spent) == (Decimal("3500.00"), Decimal("2800"))
    assert (spend["social"].planned, spend["social"].spent) == (Decimal("2333.33"), Decimal("2100"))
    # 4,900 of 5,833.33 (social: seven days of €10,000 over 30, summed exactly, rounded once)
    assert report.pct_of_plan == Decimal("84.00")
    # CPA: 4,900 spent for 105 conversions = 46.67 against a target of 40: off target.
    assert (report.kpi.actual, report.kpi.target, report.kpi.met) == (
        Decimal("46.67"),
        Decimal("40"),
        False,
    )
    (applied,) = report.applied
    assert (applied.entity_id, applied.before, applied.after, applied.by_person) == (
        "search-brand",
        "500.00",
        "525.00",
        False,
    )
    assert {p.public_id for p in report.pending} == {
        week["waiting"].ticket,
        week["a8"].public_id,
        week["client_item"].public_id,
    }
    assert [s.number for s in report.summaries] == [2]
    assert (
        "Search budget up 12% (€40,000 → €44,800) from 1 Dec."
        in report.summaries[0].summary["summary"]
    )


def test_the_client_safe_report_holds_nothing_internal(acme, week, client):
    report = report_of(acme, client_safe=True)
    assert [p.public_id for p in report.pending] == [week["client_item"].public_id]
    assert report.recommendations == []

    client.login(username="acme-client", password=PASSWORD)
    response = client.get(
        reverse("portal_reports:report", args=[acme.slug, "always_on"]) + "?week=2026-11-09"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "More budget for search in December" in page
    assert "Search budget up 12% (€40,000 → €44,800) from 1 Dec." in page
    assert "Search daily budget €500 → €525 (+5%)" in page
    for internal in [
        AGENT_NAME,
        "cs-within-5pct",
        "cs-waits-30pct",
        week["waiting"].ticket,
        week["a8"].public_id,
        "run-secret-1",
        "acme-planner",
        "search-brand",
        "Revise recommendations",
        "/tickets/",
    ]:
        assert internal not in page, internal
    # A ticket type as a word: random public ids and tokens on the page may hold "A8" inside them.
    assert not re.search(r"\bA8\b", page)


def test_a_client_reads_only_their_own_tenants_reports(acme, globex, week, client, make_member):
    make_member("gina", globex, Role.CLIENT)
    client.login(username="gina", password=PASSWORD)
    assert (
        client.get(reverse("portal_reports:report", args=[acme.slug, "always_on"])).status_code
        == 404
    )
    client.login(username="acme-planner", password=PASSWORD)
    # Staff have the dashboard's report, not the portal's.
    assert client.get(reverse("portal_reports:list")).status_code == 404


def test_the_planner_reads_the_page_prints_it_and_downloads_the_csv(acme, week, client):
    client.login(username="acme-planner", password=PASSWORD)
    url = reverse("metrics:weekly", args=[acme.slug, "always_on"])
    page = client.get(url, {"week": "2026-11-12"}).content.decode()  # any day names its week
    assert "Week of 9 Nov – 15 Nov 2026" in page
    assert "cs-within-5pct" in page and AGENT_NAME in page
    assert week["a8"].public_id in page
    printable = client.get(url, {"week": "2026-11-09", "print": "1"}).content.decode()
    assert 'class="topbar"' not in printable and "Search budget up 12%" in printable

    response = client.get(
        reverse("metrics:weekly_csv", args=[acme.slug, "always_on"]), {"week": "2026-11-09"}
    )
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="weekly-acme-always_on-2026-11-09.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["section", "item", "value", "compared_with", "detail"]
    assert ["spend", "search", "2800.00", "3500.00", "80.00"] in rows
    assert ["kpi", "cpa", "46.67", "40", "missed"] in rows
    assert any(r[0] == "summary" and r[2].startswith("Search budget up 12%") for r in rows)


def test_a_track_without_an_approved_version_says_so(acme, client, make_member):
    make_member("pia", acme, Role.PLANNER)
    Track.objects.create(tenant=acme, key="branding")
    client.login(username="pia", password=PASSWORD)
    page = client.get(reverse("metrics:weekly", args=[acme.slug, "branding"])).content.decode()
    assert "has no approved version yet" in page


def test_the_ticket_links_of_the_report_exist(acme, week):
    assert Ticket.objects.filter(public_id=week["waiting"].ticket, type="A3").exists()
