"""Limits a person can run into in the browser say so in the product's pages: a comment over the
size limit (sent by htmx) and a date outside the filters' bounds. Screenshots at 1280 and 390 px
in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from approvals.models import TicketComment
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.browser.widths import screenshot_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def both_widths(page, screenshot, name: str) -> None:
    screenshot_both_widths(page, screenshot, f"{name}")


def test_a_comment_over_the_size_limit_shows_the_page_saying_so(
    page, screenshot, browser_login, acme, make_member, settings
):
    make_member("otto", acme, Role.OPERATOR)
    ticket = open_ticket(acme, "A3")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    browser_login(page, "otto")
    page.goto(f"/tickets/{ticket.public_id}/")

    # Past the field's own maxlength too: as a script (or an old browser) could send it.
    page.get_by_label("Add a comment").evaluate("(box) => { box.value = 'x'.repeat(20000); }")
    page.get_by_role("button", name="Post comment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Too much sent at once")
    expect(page.get_by_test_id("error-413")).to_contain_text(
        "more than the limit of 10,000 bytes a page may send. Nothing was saved."
    )
    assert not TicketComment.objects.exists()
    both_widths(page, screenshot, "limits-413")


def test_a_date_out_of_bounds_is_said_on_the_metrics_page(
    page, screenshot, browser_login, acme, make_member
):
    make_member("otto", acme, Role.OPERATOR)
    browser_login(page, "otto")

    page.goto("/t/acme/metrics/?end=9999-12-31")

    expect(page.get_by_test_id("filter-errors")).to_contain_text(
        "To: Enter a date between 1 Jan 2000 and 31 Dec 2999. The range below leaves it out."
    )
    both_widths(page, screenshot, "limits-metrics-date")
