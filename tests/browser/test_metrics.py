"""Metrics and the weekly report in Chromium: an admin opens the ops metrics, reads charts and
tables, changes the range and sees both update; a planner opens the week's report of always_on
and downloads its CSV; the client reads the client version in the portal. Screenshots at 1280
and 390 px in test-artifacts/. The clock runs from Tuesday 17 November 2026."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from tenants.models import Role
from tests.browser.widths import screenshot_both_widths
from tests.metrics.worlds import AGENT_NAME, ops_history, report_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(acme, acme_v1, make_member):
    with time_machine.travel(NOW, tick=True):
        week = report_week(acme, acme_v1, make_member)
        ops_history(acme, NOW, week["people"])
        yield week


def both_widths(page, screenshot, name: str) -> None:
    screenshot_both_widths(page, screenshot, f"metrics-{name}")


def test_an_admin_reads_the_metrics_and_changes_the_range(page, screenshot, browser_login, world):
    browser_login(page, f"acme-{Role.ADMIN}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ops metrics · Acme Retail")
    board = page.locator("#metrics-board")
    expect(board.get_by_test_id("metrics-range")).to_contain_text("21 Oct – 17 Nov 2026")
    approve = page.locator('[data-metric="time-to-approve"]')
    expect(approve.locator("svg.metric-chart")).to_be_visible()
    expect(approve.get_by_test_id("time-to-approve-table")).to_contain_text(
        "A1 Media plan approval"
    )
    expect(page.locator('[data-metric="a3-what-if"] svg.metric-chart')).to_be_visible()
    overrides = page.get_by_test_id("overrides-table")
    expect(overrides.locator("tbody tr")).to_have_count(28)
    both_widths(page, screenshot, "page")

    page.locator("#id_start").fill("2026-11-03")
    page.locator("#id_end").fill("2026-11-16")
    page.get_by_role("button", name="Show").click()
    expect(board.get_by_test_id("metrics-range")).to_contain_text("3 Nov – 16 Nov 2026")
    expect(page).to_have_url(re.compile(r"start=2026-11-03"))
    expect(overrides.locator("tbody tr")).to_have_count(14)
    expect(page.locator('[data-metric="overrides"] svg.metric-chart')).to_be_visible()
    csv_link = page.locator('[data-metric="spend-at-risk"]').get_by_role("link", name="CSV")
    expect(csv_link).to_have_attribute("href", re.compile(r"start=2026-11-03&end=2026-11-16"))
    page.locator("#spend-at-risk").scroll_into_view_if_needed()
    both_widths(page, screenshot, "range-changed")


def test_a_planner_opens_the_weekly_report_and_downloads_the_csv(
    page, screenshot, browser_login, world, tmp_path
):
    browser_login(page, f"acme-{Role.PLANNER}")
    page.goto("/t/acme/plans/tracks/always_on/")
    page.get_by_role("navigation", name="Pages of always_on").get_by_role(
        "link", name="Weekly report"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Weekly report · always_on · Acme Retail"
    )
    expect(page.get_by_text("Week of 9 Nov – 15 Nov 2026")).to_be_visible()
    expect(page.get_by_test_id("report-spend")).to_contain_text("€3,500")
    expect(page.get_by_test_id("report-summaries")).to_contain_text("Search budget up 12%")
    both_widths(page, screenshot, "weekly-report")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "weekly-acme-always_on-2026-11-09.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["section", "item", "value", "compared_with", "detail"]
    assert ["spend", "search", "2800.00", "3500.00", "80.00"] in rows

    page.get_by_role("link", name="Printable page").click()
    expect(page.locator("header.topbar")).to_have_count(0)
    page.emulate_media(media="print")
    screenshot("metrics-weekly-print")
    page.emulate_media(media="screen")


def test_the_client_reads_the_client_version_in_the_portal(page, screenshot, browser_login, world):
    browser_login(page, f"acme-{Role.CLIENT}")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Weekly reports").click()
    page.get_by_role("link", name="Always-on plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Weekly report · Always-on plan · Acme Retail"
    )
    expect(page.get_by_test_id("report-pending")).to_contain_text(
        "More budget for search in December"
    )
    expect(page.get_by_test_id("report-budgets")).to_contain_text("Running a day")
    expect(page.get_by_test_id("report-applied")).to_contain_text(
        "Search daily budget €500 → €525 (+5%)"
    )
    content = page.content()
    for internal in (
        AGENT_NAME,
        "cs-within-5pct",
        world["a8"].public_id,
        "Revise recommendations",
        "always_on",
        "Applied since",
    ):
        assert internal not in content
    both_widths(page, screenshot, "portal-report")
