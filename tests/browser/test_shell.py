"""The dashboard shell in a real browser: log in, the header and nav, the audit page, the admin's
policy page, log out. Screenshots at 1280 px and 390 px go to test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from tenants.models import Role, TenantPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_planner_logs_in_sees_the_shell_opens_the_audit_page_and_logs_out(
    page, screenshot, browser_login, acme, make_member
):
    make_member("planner", acme, Role.PLANNER)
    browser_login(page, "planner", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    screenshot("shell-login-error")

    browser_login(page, "planner")
    expect(page).to_have_url(re.compile(r"/$"))
    header = page.locator("header.topbar")
    expect(header.get_by_test_id("tenant-name")).to_have_text("Acme Retail")
    expect(header).to_contain_text("planner")
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Dashboard", "Plans", "Runs", "Metrics", "Audit"]:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Policy")).to_have_count(0)  # admins only
    screenshot("shell-dashboard-1280")

    nav.get_by_role("link", name="Audit").click()
    expect(page).to_have_url(re.compile(r"/t/acme/audit/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit")
    expect(page.get_by_role("cell", name="tenant.created")).to_be_visible()

    nav.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agent runs · Acme Retail")
    nav.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ops metrics · Acme Retail")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("shell-metrics-390")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/t/acme/audit/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/t/acme/audit/"))


def test_a_person_in_two_tenants_switches_between_them(
    page, browser_login, acme, globex, make_member
):
    make_member("planner", acme, Role.PLANNER)
    make_member("planner", globex, Role.OPERATOR)
    browser_login(page, "planner")
    header = page.locator("header.topbar")
    expect(header.get_by_label("Tenant")).to_have_value("acme")
    header.get_by_label("Tenant").select_option("globex")  # app.js submits the form on change
    expect(header.get_by_label("Tenant")).to_have_value("globex")
    audit_link = header.get_by_role("link", name="Audit", exact=True)
    expect(audit_link).to_have_attribute("href", "/t/globex/audit/")


def test_an_admin_is_refused_a_looser_policy_and_saves_a_stricter_one(
    page, screenshot, browser_login, acme, make_member
):
    make_member("admin", acme, Role.ADMIN)
    browser_login(page, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenant policy · Acme Retail")

    page.get_by_label("tool_rounds_max").fill("6")
    page.get_by_role("button", name="Save policy for Acme Retail").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    message = "loop_policy.tool_rounds_max may not exceed 5 (hard ceiling; 6 is looser)"
    expect(page.locator("#section-loop_policy")).to_contain_text(message)
    screenshot("shell-policy-refused-1280")
    assert TenantPolicy.objects.get(tenant=acme).tool_rounds_max == 5

    page.get_by_label("tool_rounds_max").fill("4")
    page.get_by_role("button", name="Save policy for Acme Retail").click()
    expect(page.get_by_role("status")).to_contain_text("Policy saved: tool_rounds_max changed.")
    history = page.locator("table.policy-history")
    expect(history.locator("tbody tr").first).to_contain_text("admin")
    expect(history.locator("tbody tr").first).to_contain_text("tool_rounds_max: 5 → 4")
    assert TenantPolicy.objects.get(tenant=acme).tool_rounds_max == 4
    screenshot("shell-policy-saved-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("shell-policy-390")


def test_on_a_phone_every_header_link_stays_in_sight(
    page, screenshot, browser_login, acme, make_member
):
    make_member("admin", acme, Role.ADMIN)
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, "admin")
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Dashboard", "Plans", "Runs", "Metrics", "Audit", "Policy"]:
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_in_viewport()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    screenshot("shell-header-390")
    nav.get_by_role("link", name="Policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenant policy · Acme Retail")
