"""The plan pages: overview, track timeline, version, draft editor with the live verdict, compare.

State is built with the real services (import an approved v1, draft a revise); the pages are read
as each role would read them.
"""

from __future__ import annotations

import copy
import json

import pytest
import time_machine
from django.urls import reverse

from approvals.models import Ticket
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry
from plans.models import PlanStatus, PlanVersion
from plans.services import (
    master_plan_set,
    plan_version_create_draft,
    plan_version_import_approved,
)
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.test_forms import PAYLOAD, post_of

pytestmark = pytest.mark.django_db


def raised_search(payload: dict, budget: str = "44800.00") -> dict:
    """The payload with search's budget raised (40,000 → 44,800 is +12%)."""
    changed = copy.deepcopy(payload)
    changed["channels"][0]["budget"] = budget
    return changed


@pytest.fixture
def v1(acme):
    return plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=PAYLOAD,
        actor=TEST_ACTOR,
        approved_by="alice",
    )


@pytest.fixture
def v2(acme, v1):
    return plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=raised_search(PAYLOAD),
        actor=TEST_ACTOR,
        reason="search drifted up",
    )


@pytest.fixture
def planner_client(client, alice):
    client.force_login(alice)
    return client


def url(name: str, *args) -> str:
    return reverse(f"plans:{name}", args=["acme", *args])


def audit_count(acme) -> int:
    return AuditEvent.objects.filter(tenant=acme).count()


# --- Who may see and do what ---------------------------------------------------------------------
READ_PAGES = [
    pytest.param("overview", (), id="overview"),
    pytest.param("timeline", ("always_on",), id="timeline"),
    pytest.param("version", (2,), id="version"),
    pytest.param("compare", (), id="compare"),
]
PLANNER_PAGES = [
    pytest.param("edit", (2,), id="edit"),
    pytest.param("draft_new", ("always_on",), id="new-draft"),
]


@pytest.mark.parametrize(("name", "args"), READ_PAGES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param(Role.PLANNER, 200, id="planner"),
        pytest.param(Role.OPERATOR, 200, id="operator"),
        pytest.param(Role.ADMIN, 200, id="admin"),
        pytest.param(Role.LEGAL, 200, id="legal"),
        pytest.param(Role.CLIENT, 403, id="client"),
    ],
)
def test_internal_roles_read_every_plan_page_and_a_client_may_not(
    client, acme, v2, make_member, name, args, role, status
):
    client.force_login(make_member("someone", acme, role))

    assert client.get(url(name, *args)).status_code == status


@pytest.mark.parametrize(("name", "args"), PLANNER_PAGES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param(Role.PLANNER, 200, id="planner"),
        pytest.param(Role.OPERATOR, 403, id="operator"),
        pytest.param(Role.ADMIN, 403, id="admin"),
        pytest.param(Role.LEGAL, 403, id="legal"),
        pytest.param(Role.CLIENT, 403, id="client"),
    ],
)
def test_only_planners_open_the_draft_editor(
    client, acme, v2, make_member, name, args, role, status
):
    client.force_login(make_member("someone", acme, role))

    assert client.get(url(name, *args)).status_code == status


@pytest.mark.parametrize(("name", "args"), READ_PAGES + PLANNER_PAGES)
def test_another_tenants_planner_gets_a_404_on_every_page(client, v2, bob, name, args):
    client.force_login(bob)

    assert client.get(url(name, *args)).status_code == 404


def test_a_version_number_of_another_tenant_is_a_404_inside_ones_own_tenant(
    client, globex, v2, bob
):
    # globex has no v2: acme's v2 must not leak through globex's URL.
    client.force_login(bob)

    assert client.get(reverse("plans:version", args=["globex", 2])).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, v2):
    response = client.get(url("overview"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        pytest.param("submit", (2,), id="submit"),
        pytest.param("withdraw", (2,), id="withdraw"),
        pytest.param("discard", (2,), id="discard"),
        pytest.param("envelope", (2,), id="envelope"),
        pytest.param("edit", (2,), id="edit"),
        pytest.param("draft_new", ("always_on",), id="new-draft"),
        pytest.param("track_start", (), id="start-track"),
        pytest.param("verdict", ("always_on",), id="verdict"),
    ],
)
def test_an_operator_cannot_change_a_plan(client, acme, v2, make_member, name, args):
    client.force_login(make_member("olga", acme, Role.OPERATOR))
    before = audit_count(acme)

    response = client.post(url(name, *args), post_of(raised_search(PAYLOAD, "46000.00")))

    assert response.status_code == 403
    assert audit_count(acme) == before
    assert PlanVersion.objects.get(tenant=acme, number=2).payload["channels"][0]["budget"] == (
        "44800.00"
    )


# --- Overview ------------------------------------------------------------------------------------
def test_the_overview_lists_tracks_with_their_current_version_and_pending_drafts(
    planner_client, v2, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = planner_client.get(url("overview"))

    page = response.content.decode()
    assert "<title>Plans · Acme Retail · Human Touch</title>" in page
    assert 'href="/t/acme/plans/tracks/always_on/"' in page
    assert 'v1</a> <span class="muted">Initial</span>' in page
    assert "by tests" in page
    assert '<td class="num">€60,000</td>' in page  # the approved plan's total
    assert 'href="/t/acme/plans/v/2/"' in page
    assert 'data-status="draft">Draft</span>' in page
    assert "New draft for always_on" in page


def test_the_overview_shows_the_master_envelope_use_per_track(planner_client, acme, v1):
    master_plan_set(
        tenant=acme,
        period_start="2026-11-01",
        period_end="2027-01-31",
        currency="EUR",
        total_budget="100000",
        track_caps={"always_on": "50000", "branding": "20000"},
        actor=TEST_ACTOR,
    )

    page = planner_client.get(url("overview")).content.decode()

    assert "Master envelope · 1 Nov 2026 – 31 Jan 2027" in page
    assert ">€50,000<" in page  # the cap
    assert ">120% · over cap<" in page  # 60,000 planned against a 50,000 cap
    assert ">−€10,000<" in page  # headroom below zero
    assert ">60%<" in page  # of the 100,000 total
    # A capped track with no plan yet can be started from here.
    assert 'href="/t/acme/plans/tracks/branding/new/">Start branding with a new draft' in page


def test_times_are_shown_in_the_tenants_time_zone(client, globex, bob):
    with time_machine.travel("2026-11-20 15:30Z"):
        plan_version_import_approved(
            tenant=globex,
            track_key="always_on",
            kind="initial",
            payload={**PAYLOAD, "geos": ["US"], "currency": "USD"},
            actor=TEST_ACTOR,
            approved_by="bob",
        )
    client.force_login(bob)

    page = client.get(reverse("plans:overview", args=["globex"])).content.decode()

    assert "20 Nov 2026 10:30 EST" in page
    assert ">$60,000<" in page


def test_an_operator_reads_the_overview_without_draft_actions(client, acme, v2, make_member):
    client.force_login(make_member("olga", acme, Role.OPERATOR))

    page = client.get(url("overview")).content.decode()

    assert "v1" in page
    assert "New draft for" not in page


@pytest.mark.parametrize(
    ("key", "location"),
    [
        pytest.param(
            "event_black_friday", "/t/acme/plans/tracks/event_black_friday/new/", id="event"
        ),
        pytest.param(" Branding ", "/t/acme/plans/tracks/branding/new/", id="tidied-up"),
        pytest.param(
            "Black Friday!",
            "/t/acme/plans/?key=Black+Friday%21#id_track_key",  # the name kept to correct
            id="not-a-track-name",
        ),
    ],
)
def test_starting_a_new_track_leads_to_its_first_draft(planner_client, v1, key, location):
    response = planner_client.get(url("track_start") + "?key=" + key)

    assert response.status_code == 302
    assert response["Location"] == location


def test_a_bad_track_name_says_how_tracks_are_named(planner_client, v1):
    response = planner_client.get(url("track_start") + "?key=Black+Friday", follow=True)

    assert "is not a track name: use branding, engagement or event_&lt;slug&gt;" in (
        response.content.decode()
    )
    # The refused name stays in its box to be corrected.
    assert 'name="key" type="text"' in response.content.decode()
    assert 'value="Black Friday" aria-invalid="true"' in response.content.decode()


# --- Timeline ------------------------------------------------------------------------------------
def test_the_timeline_lists_every_version_with_status_words_and_marks_the_current_one(
    planner_client, v2
):
    page = planner_client.get(url("timeline", "always_on")).content.decode()

    assert "always_on · version timeline" in page
    assert '<tr class="is-current" data-version="1">' in page
    assert 'data-status="approved">Approved</span>' in page
    assert 'data-status="draft">Draft</span>' in page
    assert "current</span>" in page
    # Parent of v2 is v1; the compare form preselects the two newest.
    assert 'href="/t/acme/plans/v/1/">v1</a></td>' in page
    assert 'name="a" value="1" checked' in page
    assert 'name="b" value="2" checked' in page


def test_the_timeline_explains_per_tenant_numbers_and_each_versions_place_in_its_track(
    planner_client, acme, v1
):
    plan_version_create_draft(
        tenant=acme, track_key="branding", kind="track_draft", payload=PAYLOAD, actor=TEST_ACTOR
    )
    plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=raised_search(PAYLOAD),
        actor=TEST_ACTOR,
    )

    page = planner_client.get(url("timeline", "always_on")).content.decode()
    version_page = planner_client.get(url("version", 3)).content.decode()

    assert "Version numbers count per tenant, across every track, and are never reused" in page
    assert "the numbers between v1 and v3 went to other tracks' versions" in page
    position = '>v{}</a> <span class="muted version-position">· {}<span class="col-optional"> {}'
    assert position.format(3, "2nd", "version of always_on") in page
    assert position.format(1, "1st", "version of always_on") in page
    assert "2nd version of always_on" in version_page
    branding = planner_client.get(url("timeline", "branding")).content.decode()
    assert '· 1st<span class="col-optional"> version of branding' in branding
    assert "when a track skips a number, that version belongs to another track" in branding


def test_the_timeline_reads_a_long_history_in_a_fixed_number_of_queries(
    planner_client, acme, v1, django_assert_max_num_queries
):
    for budget in ("45000.00", "46000.00", "47000.00", "48000.00", "49000.00", "50000.00"):
        plan_version_create_draft(
            tenant=acme,
            track_key="always_on",
            kind="revise",
            payload=raised_search(PAYLOAD, budget),
            actor=TEST_ACTOR,
        )

    # 12: the track's alignment label (optimization/alignment.py) reads its manifest entries once,
    # and one query reads every approver of every version at once (issue 18 item 6).
    with django_assert_max_num_queries(12):
        page = planner_client.get(url("timeline", "always_on")).content.decode()

    assert page.count('data-status="draft">Draft</span>') == 6


def test_an_unknown_track_is_a_404(planner_client, v1):
    assert planner_client.get(url("timeline", "branding")).status_code == 404


# --- Version page --------------------------------------------------------------------------------
def test_the_version_page_shows_payload_diff_client_summary_and_draft_actions(planner_client, v2):
    page = planner_client.get(url("version", 2)).content.decode()

    assert "<title>v2 · always_on · Plans · Acme Retail · Human Touch</title>" in page
    assert "Winter sale" not in page  # themes are shown as written
    assert "winter sale" in page
    assert ">€44,800<" in page
    assert "Search budget up 12% (€40,000 → €44,800)" in page
    assert ">+€4,800<" in page and ">+12%<" in page
    assert "Expected KPI impact" in page
    assert "Edit v2" in page
    assert "Submit v2 for approval" in page
    assert "A5 ticket, approved by planner and client." in page
    assert "plan_version.drafted" in page  # the audit trail


def test_an_operator_reads_a_draft_without_its_actions(client, acme, v2, make_member):
    client.force_login(make_member("olga", acme, Role.OPERATOR))

    page = client.get(url("version", 2)).content.decode()

    assert "Search budget up 12%" in page
    assert "Submit v2 for approval" not in page
    assert "Edit v2" not in page


def test_the_first_version_is_summarised_as_a_new_plan_without_a_diff(planner_client, v1):
    page = planner_client.get(url("version", 1)).content.decode()

    assert "New plan from 1 Nov 2026 to 31 Jan 2027: €60,000 across 2 channels" in page
    assert "Changes from" not in page
    assert "Recorded when v1 was approved." in page
    assert "Submit v1" not in page


def test_the_version_page_shows_the_live_manifest_delta(planner_client, acme, v2):
    # November search plan: 15,000 over 30 days = 500 a day; live at 480 a day.
    ExecutionManifestEntry.objects.create(
        tenant=acme,
        track=v2.track,
        platform="google_ads",
        entity_id="cmp-1",
        channel="search",
        plan_version=1,
        state={"daily_budget": "480", "status": "active"},
    )

    with time_machine.travel("2026-11-10 12:00Z"):
        page = planner_client.get(url("version", 2)).content.decode()

    assert "Remaining delta for Execution" in page
    assert "search: set daily budget €480 → €500" in page
    assert "cmp-1" in page


def test_a_channel_starting_later_reads_as_to_launch_with_its_date(planner_client, acme, v1):
    with_tiktok = copy.deepcopy(PAYLOAD)
    with_tiktok["channels"].append(
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "budget": "1700.00",
            "flights": [{"start": "2026-12-15", "end": "2026-12-31", "budget": "1700.00"}],
        }
    )
    plan_version_create_draft(
        tenant=acme, track_key="always_on", kind="replan", payload=with_tiktok, actor=TEST_ACTOR
    )

    with time_machine.travel("2026-11-10 12:00Z"):
        page = planner_client.get(url("version", 2)).content.decode()

    assert 'data-state="to_launch">starts 15 Dec — to launch</span>' in page
    assert "align 1 channel, and launch tiktok when its flight starts." in page
    assert 'data-state="aligned"' not in page.split('data-channel="tiktok"')[1].split("</tr>")[0]
    assert "Coming up in this version's flights" in page
    assert "15 Dec 2026</span> · tiktok: launch at €100 a day" in page
    assert "1 Dec 2026</span> · search: daily budget €500 → €483.87" in page


def test_a_draft_left_behind_by_a_newer_approval_is_outdated_and_offers_to_carry_it_forward(
    planner_client, acme, v2
):
    plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=raised_search(PAYLOAD, "46000.00"),
        actor=TEST_ACTOR,
        approved_by="alice",
    )

    page = planner_client.get(url("version", 2)).content.decode()
    old_page = planner_client.get(url("version", 1)).content.decode()

    assert "Outdated." in page and "v3</a> was approved on" in page
    assert "Carry v2 forward onto v3" in page
    assert "Edit v2" not in page and "Submit v2 for approval" not in page
    assert 'href="/t/acme/plans/v/3/">v3</a>' in old_page  # v1 is followed by v2 and v3


# --- Submit and withdraw -------------------------------------------------------------------------
def test_submitting_a_draft_opens_its_ticket_and_links_it(planner_client, acme, v2):
    response = planner_client.post(url("submit", 2), follow=True)

    v2.refresh_from_db()
    assert v2.status == PlanStatus.PENDING_APPROVAL
    ticket = Ticket.objects.get(tenant=acme, plan_version=2)
    page = response.content.decode()
    assert "v2 submitted for approval." in page
    assert f'href="/tickets/{ticket.public_id}/"' in page
    assert "Withdraw v2 from approval" in page
    assert "Submit v2 for approval" not in page


def test_withdrawing_a_submitted_version_makes_it_a_draft_again(planner_client, acme, v2):
    planner_client.post(url("submit", 2))

    response = planner_client.post(url("withdraw", 2), follow=True)

    v2.refresh_from_db()
    assert v2.status == PlanStatus.DRAFT
    assert "withdrawn from approval" in response.content.decode()
    assert Ticket.objects.get(tenant=acme, plan_version=2).status == "cancelled"


def test_submitting_an_approved_version_says_why_and_changes_nothing(planner_client, acme, v1):
    before = audit_count(acme)

    response = planner_client.post(url("submit", 1), follow=True)

    assert "only a draft can be submitted" in response.content.decode()
    assert audit_count(acme) == before


# --- Discard a draft ------------------------------------------------------------------------------
def test_discarding_a_draft_leaves_it_in_the_timeline_with_its_number(planner_client, acme, v2):
    page = planner_client.get(url("version", 2)).content.decode()
    assert "Discard v2…" in page
    assert "its number is not used again" in page

    response = planner_client.post(
        url("discard", 2), {"reason": "replaced by a replan"}, follow=True
    )

    v2.refresh_from_db()
    assert v2.status == PlanStatus.DISCARDED
    assert response.redirect_chain[-1][0] == url("timeline", "always_on")
    timeline = response.content.decode()
    assert "Draft v2 discarded: it stays in the always_on timeline" in timeline
    assert 'data-status="discarded">Discarded</span>' in timeline
    event = AuditEvent.objects.filter(tenant=acme).latest("seq")
    assert (event.action, event.data["note"]) == ("plan_version.discarded", "replaced by a replan")
    version_page = planner_client.get(url("version", 2)).content.decode()
    assert "(the number v2 stays used)" in version_page
    assert "v2 was discarded and never went live" in version_page
    assert "Discard v2" not in version_page and "Edit v2" not in version_page


def test_a_version_pending_approval_offers_no_discard_and_refuses_one(planner_client, acme, v2):
    planner_client.post(url("submit", 2))

    page = planner_client.get(url("version", 2)).content.decode()
    response = planner_client.post(url("discard", 2), follow=True)

    assert "Discard v2" not in page
    assert "only a draft can be discarded: withdraw it from approval first" in (
        response.content.decode()
    )
    v2.refresh_from_db()
    assert v2.status == PlanStatus.PENDING_APPROVAL


# --- A new master envelope with a draft ----------------------------------------------------------
@pytest.fixture
def envelope(acme):
    return master_plan_set(
        tenant=acme,
        period_start="2026-11-01",
        period_end="2027-01-31",
        currency="EUR",
        total_budget="100000",
        track_caps={"always_on": "62000"},
        actor=TEST_ACTOR,
    )


def test_a_draft_over_its_cap_proposes_a_new_envelope_from_its_page(
    planner_client, acme, v2, envelope
):
    page = planner_client.get(url("version", 2)).content.decode()
    assert "Master envelope: always_on would plan €64,800, above its cap of €62,000." in page
    assert 'href="#envelope-heading">Propose a new envelope with v2</a>' in page
    assert '<details class="envelope-form" open>' in page
    assert 'name="cap_always_on" type="text" inputmode="decimal" class="num" value="62000.00"' in (
        page
    )

    response = planner_client.post(
        url("envelope", 2), {"total_budget": "110000", "cap_always_on": "70000"}, follow=True
    )

    v2.refresh_from_db()
    assert v2.master_change == {
        "total_budget": "110000.00",
        "track_caps": {"always_on": "70000.00"},
    }
    page = response.content.decode()
    assert "v2 proposes a new master envelope: the client approves it with v2" in page
    assert "Master envelope: always_on would plan" not in page
    assert "Client sign-off: the master budget envelope changes." in page
    assert "A5 ticket, approved by planner and client." in page
    assert '<td>Always-on cap</td><td class="num">€62,000</td><td class="num">€70,000</td>' in (
        page
    )


def test_an_envelope_proposal_for_an_approved_version_is_refused_not_a_server_error(
    planner_client, acme, v1, envelope
):
    """Found by the authorization matrix (issue 20): an invalid proposal POSTed for a version past
    its draft re-rendered an envelope form the page has no envelope for — a 500."""
    before = audit_count(acme)

    response = planner_client.post(url("envelope", 1), {"total_budget": ""}, follow=True)

    assert response.status_code == 200
    assert "v1 is approved; only a draft can propose a new master envelope." in (
        response.content.decode()
    )
    v1.refresh_from_db()
    assert v1.master_change is None
    assert audit_count(acme) == before


def test_a_bad_envelope_proposal_is_shown_beside_its_field_and_stores_nothing(
    planner_client, acme, v2, envelope
):
    before = audit_count(acme)

    response = planner_client.post(
        url("envelope", 2), {"total_budget": "lots", "cap_always_on": ""}
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Enter a number." in page
    assert "always_on has a cap: enter one (a cap can change, not go)." in page
    assert 'value="lots"' in page
    v2.refresh_from_db()
    assert v2.master_change is None
    assert audit_count(acme) == before


def test_an_unchanged_envelope_is_refused_and_a_proposal_can_be_taken_back(
    planner_client, acme, v2, envelope
):
    same = planner_client.post(
        url("envelope", 2), {"total_budget": "100000.00", "cap_always_on": "62000"}
    )
    assert same.status_code == 422
    assert "That is the envelope as it stands" in same.content.decode()

    planner_client.post(url("envelope", 2), {"total_budget": "110000", "cap_always_on": "70000"})
    response = planner_client.post(url("envelope", 2), {"action": "take-back"}, follow=True)

    v2.refresh_from_db()
    assert v2.master_change is None
    assert "v2 no longer proposes a new master envelope." in response.content.decode()


def test_a_version_pending_approval_refuses_an_envelope_proposal_with_a_message(
    planner_client, acme, v2, envelope
):
    planner_client.post(url("envelope", 2), {"total_budget": "110000", "cap_always_on": "70000"})
    planner_client.post(url("submit", 2))

    response = planner_client.post(
        url("envelope", 2), {"total_budget": "120000", "cap_always_on": "80000"}, follow=True
    )

    page = response.content.decode()
    assert "v2 is pending approval; only a draft can propose a new master envelope." in page
    assert "Propose this envelope" not in page
    v2.refresh_from_db()
    assert v2.status == PlanStatus.PENDING_APPROVAL
    assert v2.master_change["total_budget"] == "110000.00"


def test_an_operator_reads_a_proposed_envelope_without_the_form(
    client, acme, v2, envelope, make_member
):
    client.force_login(make_member("paula", acme, Role.PLANNER))
    client.post(url("envelope", 2), {"total_budget": "110000", "cap_always_on": "70000"})
    client.force_login(make_member("olga", acme, Role.OPERATOR))

    page = client.get(url("version", 2)).content.decode()

    assert "v2 proposes a new master envelope." in page
    assert "Total envelope" in page
    assert "Propose this envelope" not in page


# --- Draft editor --------------------------------------------------------------------------------
def test_the_editor_shows_the_draft_and_the_classifiers_verdict(planner_client, v2):
    page = planner_client.get(url("edit", 2)).content.decode()

    assert "Edit draft v2 · always_on" in page
    assert 'name="channels-0-budget" type="text" value="44800.00"' in page
    assert 'hx-trigger="change, keyup delay:500ms"' in page
    assert 'data-path="revise">revise</span>' in page
    assert "search budget moves 12.0%" in page


def test_saving_a_valid_edit_stores_the_payload_and_audits_it(planner_client, acme, v2):
    before = audit_count(acme)

    response = planner_client.post(url("edit", 2), post_of(raised_search(PAYLOAD, "46000.00")))

    assert response.status_code == 302
    v2.refresh_from_db()
    assert v2.payload["channels"][0]["budget"] == "46000.00"
    assert audit_count(acme) == before + 1
    assert AuditEvent.objects.filter(tenant=acme).latest("seq").action == "plan_version.edited"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param("channels-0-budget", "a lot", "Enter a number", id="budget-not-a-number"),
        pytest.param("channels-0-flights-0-end", "2026-13-45", "YYYY-MM-DD", id="impossible-date"),
        pytest.param("geos", "", "Enter at least one geo", id="no-geo"),
        pytest.param(
            "channels-0-flights-1-budget", "99999", "more than the channel", id="overbooked"
        ),
    ],
)
def test_bad_input_rerenders_with_the_message_beside_the_field_and_writes_nothing(
    planner_client, acme, v2, field, value, message
):
    before_hash, before_events = v2.payload_hash, audit_count(acme)
    data = post_of(raised_search(PAYLOAD), **{field: value})

    response = planner_client.post(url("edit", 2), data)

    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert message in page
    assert '<ul class="errorlist"' in page
    assert f'value="{value}"' in page or field == "geos"  # what was typed stays
    v2.refresh_from_db()
    assert v2.payload_hash == before_hash
    assert audit_count(acme) == before_events


def test_an_edit_that_contradicts_the_drafts_kind_is_refused(planner_client, acme, v2):
    with_tiktok = raised_search(PAYLOAD)
    with_tiktok["channels"].append(
        {"channel": "tiktok", "platform": "tiktok_ads", "budget": "5000.00", "flights": []}
    )
    before = audit_count(acme)

    response = planner_client.post(url("edit", 2), post_of(with_tiktok))

    assert response.status_code == 422
    page = response.content.decode()
    assert "A revise contradicts the classifier, which says replan" in page
    assert audit_count(acme) == before


def test_editing_a_submitted_version_is_refused_with_a_message(planner_client, v2):
    planner_client.post(url("submit", 2))

    response = planner_client.get(url("edit", 2), follow=True)

    assert "only drafts can be edited" in response.content.decode()


@pytest.mark.parametrize(
    ("action", "expect"),
    [
        pytest.param("add-channel", 'name="channels-2-channel"', id="add-channel"),
        pytest.param("add-flight-1", 'name="channels-1-flights-0-start"', id="add-flight"),
        pytest.param("add-kpi", 'name="kpi_targets-1-name"', id="add-kpi"),
    ],
)
def test_add_row_buttons_rerender_the_form_without_saving(planner_client, acme, v2, action, expect):
    before = audit_count(acme)
    data = post_of(raised_search(PAYLOAD))
    data["action"] = action

    response = planner_client.post(url("edit", 2), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert expect in page
    assert "<html" in page  # without JS: the whole page
    assert audit_count(acme) == before


def test_adding_a_row_shows_no_errors_and_the_verdict_names_what_to_fill_in(
    planner_client, acme, v2
):
    data = post_of(raised_search(PAYLOAD))
    data["action"] = "add-channel"

    page = planner_client.post(url("edit", 2), data, HTTP_HX_REQUEST="true").content.decode()

    assert 'name="channels-2-channel"' in page
    assert "<li>This field is required" not in page  # (the verdict carries it for the script)
    assert "Nothing was saved" not in page
    assert 'aria-invalid="true"' not in page
    assert "Verdict: fill in channel 3 (channel, platform, budget) to see which path" in page


def test_adding_a_flight_keeps_the_mark_on_a_value_typed_wrong_elsewhere(planner_client, v2):
    data = post_of(raised_search(PAYLOAD), **{"channels-0-budget": "lots"})
    data["action"] = "add-flight-1"

    page = planner_client.post(url("edit", 2), data, HTTP_HX_REQUEST="true").content.decode()

    assert 'name="channels-1-flights-0-start"' in page
    assert 'id="id_channels-0-budget" name="channels-0-budget" type="text" value="lots"' in page
    assert 'aria-describedby="err_channels-0-budget"' in page  # typed wrong: still marked
    assert 'aria-describedby="err_channels-1-flights-0-start"' not in page  # new and empty
    assert "Verdict: correct the marked fields" in page


def test_saving_with_an_empty_new_row_marks_every_empty_field(planner_client, acme, v2):
    data = post_of(raised_search(PAYLOAD))
    data.update(
        {"channels-2-channel": "tiktok", "channels-2-platform": "", "channels-2-budget": ""}
    )

    response = planner_client.post(url("edit", 2), data)

    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert 'aria-describedby="err_channels-2-platform"' in page
    assert 'aria-describedby="err_channels-2-budget"' in page
    assert "Verdict: correct the marked fields" in page


def test_removing_a_channel_with_htmx_swaps_only_the_form(planner_client, acme, v2):
    data = post_of(raised_search(PAYLOAD))
    data["action"] = "remove-channel-1"

    response = planner_client.post(url("edit", 2), data, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "<html" not in page
    assert page.lstrip().startswith('<form id="plan-editor"')
    assert 'name="channels-1-channel"' not in page
    assert 'value="social"' not in page
    # Dropping social is a revise (channel mix), and still nothing is saved.
    assert "social removed" in page
    assert PlanVersion.objects.get(pk=v2.pk).payload["channels"][1]["channel"] == "social"


# --- Live verdict --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        pytest.param(
            {"channels-0-budget": "44800.00"},
            "revise",
            "search budget moves 12.0%",
            id="search-up-12",
        ),
        pytest.param(
            {"channels-0-budget": "42000.00"}, "optimization", "stays within", id="search-up-5"
        ),
        pytest.param(
            {"kpi_targets-0-value": "35"},
            "revise",
            "KPI target adjustment with the same objective",
            id="kpi-target",
        ),
        pytest.param({"objective": "leads"}, "replan", "the objective changes", id="objective"),
        pytest.param({"geos": "DE, AT"}, "replan", "new geo or market AT", id="new-geo"),
    ],
)
def test_the_verdict_endpoint_classifies_the_form_as_it_stands(
    planner_client, acme, v1, change, path, reason
):
    before = audit_count(acme)

    response = planner_client.post(url("verdict", "always_on"), post_of(PAYLOAD, **change))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert f'data-path="{path}">{path}</span>' in page
    assert reason in page
    assert audit_count(acme) == before


def test_the_verdict_warns_when_the_drafts_kind_disagrees(planner_client, v2):
    data = post_of(PAYLOAD, geos="DE, AT")
    data["version"] = "2"

    page = planner_client.post(url("verdict", "always_on"), data).content.decode()

    assert "A revise contradicts the classifier, which says replan" in page


def test_the_verdict_of_an_invalid_form_asks_for_corrections(planner_client, v1):
    page = planner_client.post(
        url("verdict", "always_on"), post_of(PAYLOAD, **{"channels-0-budget": "x"})
    ).content.decode()

    assert "correct the marked fields" in page


def test_the_verdict_of_an_invalid_form_carries_its_errors_for_the_editor_to_mark(
    planner_client, v1
):
    # A budget typed wrong, and an empty flight just added to social.
    data = post_of(PAYLOAD, **{"channels-0-budget": "x"})
    data.update({f"channels-1-flights-0-{k}": "" for k in ("start", "end", "budget")})

    page = planner_client.post(url("verdict", "always_on"), data).content.decode()

    errors = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    assert errors["fields"]["channels-0-budget"] == ["Enter a number, e.g. 12000.00."]
    # Every error travels; the script marks the empty ones only once they show an error.
    assert errors["fields"]["channels-1-flights-0-start"] == ["Enter a date as YYYY-MM-DD."]
    assert "correct the marked fields" in page


def test_an_invalid_form_with_only_empty_fields_asks_to_fill_them_in(planner_client, v1):
    data = post_of(PAYLOAD)
    data.update({f"channels-1-flights-0-{k}": "" for k in ("start", "end", "budget")})

    page = planner_client.post(url("verdict", "always_on"), data).content.decode()

    assert "Verdict: fill in social flight 1 (start, end, budget) to see which path" in page


def test_a_valid_verdict_carries_no_errors(planner_client, v1):
    page = planner_client.post(url("verdict", "always_on"), post_of(PAYLOAD)).content.decode()

    assert "verdict-errors" not in page


def test_a_flight_overbooking_its_channel_is_a_row_error_in_the_verdict(planner_client, v1):
    page = planner_client.post(
        url("verdict", "always_on"), post_of(PAYLOAD, **{"channels-0-flights-1-budget": "99999"})
    ).content.decode()

    errors = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    assert errors["fields"] == {}
    assert "more than the channel budget" in errors["groups"]["channels-0"][0]
    assert "correct the marked fields" in page


def test_the_verdict_endpoint_only_answers_posts(planner_client, v1):
    assert planner_client.get(url("verdict", "always_on")).status_code == 405


# --- New draft -----------------------------------------------------------------------------------
def test_a_new_draft_starts_from_the_current_version_and_is_created_with_its_kind(
    planner_client, acme, v1
):
    page = planner_client.get(url("draft_new", "always_on")).content.decode()
    assert "New draft for always_on" in page
    assert 'value="40000.00"' in page

    data = post_of(raised_search(PAYLOAD))
    data.update({"kind": "revise", "reason": "search drifted up"})
    response = planner_client.post(url("draft_new", "always_on"), data)

    draft = PlanVersion.objects.get(tenant=acme, number=2)
    assert response.status_code == 302
    assert response["Location"] == url("version", 2)
    assert (draft.kind, draft.status, draft.parent_id) == ("revise", "draft", v1.pk)
    assert draft.payload["channels"][0]["budget"] == "44800.00"
    assert draft.reason == "search drifted up"


def test_a_new_draft_whose_kind_contradicts_the_classifier_is_refused(planner_client, acme, v1):
    data = post_of(PAYLOAD, geos="DE, AT")
    data["kind"] = "revise"

    response = planner_client.post(url("draft_new", "always_on"), data)

    assert response.status_code == 422
    assert "A revise contradicts the classifier, which says replan" in response.content.decode()
    assert not PlanVersion.objects.filter(tenant=acme, number=2).exists()


def test_a_new_draft_without_a_kind_is_refused(planner_client, acme, v1):
    response = planner_client.post(url("draft_new", "always_on"), post_of(raised_search(PAYLOAD)))

    assert response.status_code == 422
    assert "Choose the kind of draft." in response.content.decode()
    assert PlanVersion.objects.filter(tenant=acme).count() == 1


def test_a_new_track_gets_its_first_draft_as_a_track_draft(planner_client, acme, v1):
    data = post_of(PAYLOAD)
    data["kind"] = "track_draft"

    response = planner_client.post(url("draft_new", "branding"), data)

    assert response.status_code == 302
    draft = PlanVersion.objects.get(tenant=acme, number=2)
    assert (draft.track.key, draft.kind, draft.parent_id) == ("branding", "track_draft", None)


def test_a_track_key_outside_the_naming_rule_is_a_404(planner_client, v1):
    assert planner_client.get(url("draft_new", "Not A Track")).status_code == 404


# --- Compare -------------------------------------------------------------------------------------
def test_comparing_two_versions_shows_their_diff_in_words_and_numbers(planner_client, v2):
    response = planner_client.get(url("compare") + "?a=1&b=2")

    page = response.content.decode()
    assert "Compare v1 (always_on) with v2 (always_on)" in page
    assert "Search budget up 12% (€40,000 → €44,800)" in page
    assert ">+€4,800<" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("?a=1&b=1", "compared with itself", id="same-version"),
        pytest.param("?a=1&b=99", "Choose two versions of this tenant", id="unknown-number"),
        pytest.param("?a=one&b=2", "Choose two versions of this tenant", id="not-a-number"),
        pytest.param("?a=1&b=" + "9" * 30, "Choose two versions of this tenant", id="huge-number"),
    ],
)
def test_a_bad_comparison_says_what_is_wrong(planner_client, v2, query, message):
    response = planner_client.get(url("compare") + query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_another_tenants_version_cannot_be_compared(client, acme, globex, v2, bob):
    plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=PAYLOAD,
        actor=TEST_ACTOR,
        approved_by="bob",
    )
    client.force_login(bob)

    response = client.get(reverse("plans:compare", args=["globex"]) + "?a=1&b=2")

    assert response.status_code == 400
    assert "Choose two versions of this tenant" in response.content.decode()
