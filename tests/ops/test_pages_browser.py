"""The pages of issue 20 in a real browser: an admin lifts a login lockout, an admin reads the
signed checkpoints, a client downloads a proof of a decision. Screenshots at 1280 px and 390 px
go to test-artifacts/."""

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from approvals.services import ticket_decide
from audit.actors import Actor
from tenants.models import Role
from tests.conftest import ARTIFACTS, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_checkpoint.py"


def fail_logins(page, username: str, times: int) -> None:
    for _ in range(times):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()


def test_an_admin_lifts_a_lockout_and_reads_the_checkpoints(
    page, screenshot, browser_login, acme, alice, make_member, browser
):
    make_member("ada", acme, Role.ADMIN)
    fail_logins(page, "alice", 5)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    screenshot("locked-out-1280")

    admin = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=page.url)
    admin_page = admin.new_page()
    browser_login(admin_page, "ada")
    admin_page.get_by_role("navigation", name="Main").get_by_role("link", name="Lockouts").click()
    expect(admin_page).to_have_title(re.compile(r"^Login lockouts · Acme Retail"))
    row = admin_page.locator("tr", has_text="alice")
    expect(row).to_contain_text("Locked until")
    admin_page.screenshot(path=ARTIFACTS / "lockouts-1280.png", full_page=True)
    admin_page.set_viewport_size({"width": 390, "height": 844})
    admin_page.screenshot(path=ARTIFACTS / "lockouts-390.png", full_page=True)
    admin_page.set_viewport_size({"width": 1280, "height": 900})
    row.get_by_role("button", name=re.compile("^Let alice log in from")).click()
    expect(admin_page.get_by_text("alice may log in from")).to_be_visible()
    expect(admin_page.locator("tr", has_text="alice")).to_contain_text("Lifted by ada")

    call_command("audit_checkpoint", stdout=StringIO())
    admin_page.goto(f"/t/{acme.slug}/audit/")
    admin_page.get_by_role("link", name="signed checkpoints").click()
    expect(admin_page).to_have_title(re.compile(r"^Signed checkpoints · Acme Retail"))
    expect(
        admin_page.get_by_role("link", name=re.compile(r"^Download checkpoint \d+"))
    ).to_be_visible()
    admin_page.screenshot(path=ARTIFACTS / "checkpoints-1280.png", full_page=True)
    admin_page.set_viewport_size({"width": 390, "height": 844})
    admin_page.screenshot(path=ARTIFACTS / "checkpoints-390.png", full_page=True)
    admin.close()


def test_a_client_downloads_the_proof_of_a_decision(
    page, screenshot, browser_login, acme, alice, make_member, audit_signer, tmp_path
):
    from tests.approvals.factories import open_ticket

    carol = make_member("carol", acme, Role.CLIENT)
    ticket = open_ticket(
        acme, "A5", title="Budget increase for search", required_roles=["planner", "client"]
    )
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve")
    ticket_decide(ticket=ticket, actor=Actor.for_user(carol), verdict="approve")
    call_command("audit_checkpoint", stdout=StringIO())

    browser_login(page, "carol")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Proof").click()
    expect(page).to_have_title(re.compile(r"^Proof of your decisions"))
    link = page.get_by_role("link", name=re.compile(r"^Download proof of #\d+"))
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "proof.json"
    download.value.save_as(path)
    assert json.loads(path.read_text())["event"]["actor_label"] == "carol"
    result = subprocess.run(
        [sys.executable, str(TOOL), "proof", "--key", str(audit_signer.verifier), str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.startswith("ok: event #")
    screenshot("portal-proofs-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("portal-proofs-390")
