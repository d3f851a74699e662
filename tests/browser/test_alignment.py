"""Execution aligns (issue 16 item 5) in Chromium: after v2's approval the track reads "1 to
align" on its manifest, version and timeline pages and on the dashboard; the agent's alignment
change set makes it read "aligned" — at 1280 and at 390 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from audit.actors import Actor
from optimization.models import ExecutionManifestEntry
from optimization.services import ChangeSetRequest, change_set_submit, manifest_sync
from plans.services import plan_version_import_approved
from tenants.models import Role
from tests.browser.widths import screenshot_both_widths
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import entry
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def approved_v2(acme, acme_v1, make_member):
    """search-brand runs €300 a day; v2 (search +12% in December) is approved."""
    make_member("otto", acme, Role.OPERATOR)
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[entry("search-brand", "search", "300.00")],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    return plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=TEST_ACTOR,
        approved_by="tests",
    )


def test_the_track_reads_n_to_align_then_aligned(page, screenshot, browser_login, approved_v2):
    from optimization.alignment import track_alignment

    browser_login(page, "otto")
    page.goto("/")
    expect(page.get_by_test_id("alignment-work")).to_contain_text("1 to align")
    screenshot_both_widths(page, screenshot, "alignment-dashboard")

    page.goto("/t/acme/plans/tracks/always_on/manifest/")
    expect(page.get_by_test_id("alignment")).to_contain_text("1 to align to v2")
    screenshot_both_widths(page, screenshot, "alignment-manifest-to-align")

    track = approved_v2.track
    track.refresh_from_db()
    (target,) = track_alignment(track=track).entities
    change_set_submit(
        tenant=approved_v2.tenant,
        request=ChangeSetRequest(
            change_set_id="align-browser",
            track="always_on",
            kind="alignment",
            items=[
                {
                    "entity_id": target.entity_id,
                    "field": target.field,
                    "before": target.live,
                    "after": target.target,
                }
            ],
        ),
        actor=Actor.service("execution-agent"),
    )
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").plan_version == 2
    page.reload()
    expect(page.get_by_test_id("alignment")).to_contain_text("aligned with v2")
    screenshot_both_widths(page, screenshot, "alignment-manifest-aligned")
    page.goto("/t/acme/plans/v/2/")
    expect(page.get_by_test_id("alignment")).to_contain_text("aligned with v2")
    page.goto("/")
    expect(page.get_by_test_id("alignment-work")).to_have_count(0)
