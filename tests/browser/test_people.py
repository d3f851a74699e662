"""Issue 19 in Chromium at 1280 and 390 px: a planner sets their notifications and sees the bell,
an operator approves five A3s with one comment, an admin registers a webhook, sends a test event
and reads the delivery log."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from approvals.models import Ticket, TicketDecision, TicketStatus
from integrations.webhooks import deliveries_due
from notifications.models import Preference
from notifications.outbox import outbox_process
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.conftest import PASSWORD
from tests.integrations.receiver import start_receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]


def _login(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_planner_sets_notifications_and_sees_the_bell(page, screenshot, acme, make_member, width):
    page.set_viewport_size({"width": width, "height": 900})
    planner = make_member("pam", acme, Role.PLANNER, email="pam@acme.test")
    open_ticket(acme, "A1", title="Always-on plan v11", summary="Search +12% from 1 Dec.")
    open_ticket(acme, "A5", title="Revise always_on")
    outbox_process()

    _login(page, "pam")
    expect(page.get_by_test_id("bell-count")).to_have_text("2 unread")
    page.get_by_test_id("bell").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_text("waits for you (planner): Media plan approval")).to_be_visible()
    screenshot(f"people-notifications-{width}")

    page.get_by_role("link", name="Choose what you hear about and how").click()
    page.get_by_test_id("pref-decided").get_by_label("Off").check()
    page.get_by_test_id("pref-sla").get_by_label("In the daily digest").check()
    page.get_by_test_id("pref-waiting").get_by_label("Immediately").check()
    page.get_by_label("Your time zone").fill("Europe/Lisbon")
    expect(page.get_by_test_id("pref-red_flag")).to_contain_text("Always at once")
    screenshot(f"people-preferences-{width}")
    page.get_by_role("button", name="Save notification settings").click()

    expect(page.get_by_text("Saved your notification settings.")).to_be_visible()
    assert dict(Preference.objects.filter(user=planner).values_list("kind", "delivery")) == {
        "decided": "off",
        "sla": "digest",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_an_operator_approves_five_a3s_with_one_comment(page, screenshot, acme, make_member, width):
    page.set_viewport_size({"width": width, "height": 900})
    operator = make_member("otto", acme, Role.OPERATOR)
    tickets = [
        open_ticket(acme, "A3", title=f"Search daily budget +{12 + n}%", platform="google_ads")
        for n in range(5)
    ]
    open_ticket(acme, "A1", title="Not an A3")

    _login(page, "otto")
    page.goto("/?type=A3")
    for ticket in tickets:
        page.get_by_label(f"Select {ticket.public_id}").check()
    screenshot(f"people-bulk-select-{width}")
    page.get_by_role("button", name="Approve selected…").click()
    expect(page.get_by_role("heading", name="Approve 5 A3 tickets?")).to_be_visible()
    page.get_by_label("Comment for all of them").fill("Within the Q4 envelope.")
    screenshot(f"people-bulk-confirm-{width}")
    page.get_by_role("button", name="Approve 5 A3 tickets").click()

    expect(page.get_by_role("heading", name="Approve: 5 done, 0 refused")).to_be_visible()
    screenshot(f"people-bulk-result-{width}")
    assert Ticket.objects.filter(type="A3", status=TicketStatus.APPROVED).count() == 5
    assert set(TicketDecision.objects.values_list("user", "comment")) == {
        (operator.pk, "Within the Q4 envelope.")
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_registers_a_webhook_sends_a_test_event_and_reads_the_log(
    page, screenshot, acme, make_member, settings, width
):
    page.set_viewport_size({"width": width, "height": 900})
    receiver, server = start_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = [receiver.host]
    make_member("ada", acme, Role.ADMIN)
    try:
        _login(page, "ada")
        page.goto("/t/acme/settings/webhooks/")
        page.get_by_label("Receiver URL").fill(receiver.url)
        page.get_by_label("Description").fill("Our ops bus")
        page.get_by_role("button", name="Register the endpoint").click()
        expect(page.get_by_test_id("secret-value")).to_contain_text("whsec_")
        screenshot(f"people-webhook-secret-{width}")

        page.get_by_role("button", name="Send test event").click()
        expect(page.get_by_text("Test event msg_")).to_be_visible()
        deliveries_due()  # the cluster's worker, each minute
        page.reload()

        log = page.get_by_test_id("delivery-log")
        expect(log).to_contain_text("webhook.test")
        expect(log).to_contain_text("Delivered")
        expect(page.get_by_test_id("attempt").first).to_contain_text("#1 · 200")
        expect(page.get_by_test_id("secret")).to_have_count(0)  # shown once
        screenshot(f"people-webhook-log-{width}")
        assert len(receiver.received) == 1
    finally:
        server.shutdown()
        server.server_close()
