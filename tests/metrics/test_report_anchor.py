"""Reports anchor in time (issue 16 item 7): a past week's report names the version in force that
week, not one approved later; its drift is the drift page's at the week's end; planned amounts
are exact sums rounded once; the client's report speaks the client's words and its "waiting for
you" is the portal's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.report import weekly_report
from optimization.drift import track_drift
from plans.models import PlanStatus, PlanVersion, Track
from tests.conftest import PASSWORD
from tests.metrics.worlds import WEEK, report_week
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db
LATER = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def week(acme, acme_v1, make_member):
    return report_week(acme, acme_v1, make_member)


@pytest.fixture
def v3_approved_on_6_december(acme, week):
    """A social-only revise approved after the reported week."""
    track = Track.objects.get(tenant=acme, key="always_on")
    v2 = track.current_version
    approved = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    PlanVersion.objects.filter(pk=v2.pk).update(
        status=PlanStatus.SUPERSEDED, superseded_at=approved
    )

    def more_social(plan):
        plan["channels"][1]["budget"] += 3000
        plan["channels"][1]["flights"][0]["budget"] += 3000

    v3 = PlanVersion.objects.create(
        tenant=acme,
        track=track,
        number=3,
        kind="revise",
        status=PlanStatus.APPROVED,
        parent=v2,
        payload=changed(winter_plan(), more_social),
        payload_hash="v3",
        approved_at=approved,
        approved_by="acme-planner2",
        created_by="acme-planner",
    )
    Track.objects.filter(pk=track.pk).update(current_version=v3)
    return v3


def test_a_past_week_is_anchored_to_the_version_in_force_then(acme, v3_approved_on_6_december):
    track = Track.objects.select_related("current_version", "tenant").get(
        tenant=acme, key="always_on"
    )
    report = weekly_report(track=track, week_start=WEEK, client_safe=False, now=LATER)
    assert report.version.number == 2  # approved on the 11th, inside the week; not v3
    spend = {row.channel: row for row in report.spend}
    # v2's November social flight (v3's +€3,000 came later): 7 × 10,000 / 30, rounded once.
    assert spend["social"].planned == Decimal("2333.33")
    page = track_drift(track=track, now=report.week.end)
    assert [(c.channel, c.pct, c.net, c.live) for c in report.drift.channels] == [
        (c.channel, c.pct, c.net, c.live) for c in page.channels
    ]
    # v2 (approved on the 11th) changed search, so search's drift restarted then; it runs
    # €525 a day against €500 planned.
    search = report.drift.channel("search")
    assert (search.pct, search.live, search.planned) == (
        Decimal("0.00"),
        Decimal("525.00"),
        Decimal("500.00"),
    )


def test_the_clients_report_speaks_their_words_and_agrees_with_the_portal(
    acme, week, v3_approved_on_6_december, client
):
    client.login(username="acme-client", password=PASSWORD)
    page = client.get(
        reverse("portal_reports:report", args=[acme.slug, "always_on"]) + "?week=2026-11-09"
    ).content.decode()
    for internal in ["always_on", "v2", "v3", "Applied since", "Counted since", "threshold"]:
        assert internal not in page, internal
    assert "Always-on" in page
    home = client.get(reverse("portal:home"))
    waiting = [item["ticket"].public_id for item in home.context["waiting"]]
    report = weekly_report(
        track=Track.objects.get(tenant=acme, key="always_on"),
        week_start=WEEK,
        client_safe=True,
        now=LATER,
    )
    assert [line.public_id for line in report.waiting_for_client] == waiting
    for public_id in waiting:
        assert reverse("portal:item", args=[public_id]) in page
