"""The optimization pages: the log with its filters and CSV, the change set page with "approve a
smaller move" and "roll back", the live manifest with "pause all spend", the drift panel, the
seasonality calendar, and a recommendation's evidence on its ticket.

State is built with the real services on 10 November 2026 (tests/optimization/conftest.py); the
pages are read and used as each role would.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import (
    ChangeSet,
    ChangeSetEvent,
    ExecutionManifestEntry,
    Recommendation,
    RecommendationStatus,
    SeasonalChange,
    Signal,
    TrackHold,
)
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    seasonal_change_set,
    triggers_scan,
)
from plans.models import PlanVersion, Track
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


def submit(tenant, *items, agent="optimizer", change_set_id=None):
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=change_set_id or f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=list(items),
            agent=agent,
            reason="CPA is good",
        ),
        actor=Actor.service(agent),
    )


def budget(entity_id, before, after):
    return {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}


def nov(day: int) -> date:
    return date(2026, 11, day)


def live_budget(entity_id) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


def track_of(tenant) -> Track:
    return Track.objects.get(tenant=tenant, key="always_on")


def url(name: str, *args, tenant="acme") -> str:
    return reverse(f"optimization:{name}", args=[tenant, *args])


def track_url(name: str, *args) -> str:
    return url(name, "always_on", *args)


def cs_url(change_set) -> str:
    return url("change_set", change_set.change_set_id)


def body(response) -> str:
    return response.content.decode()


@pytest.fixture
def no_client_sign_off(live):
    """A3s need only an operator: the client's threshold is off for these tests."""
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    return live


@pytest.fixture
def as_role(client, live, people, make_member):
    def login(role):
        user = people.get(role) or make_member(f"someone-{role}", live, role)
        client.force_login(user)
        return client

    return login


@pytest.fixture
def history(no_client_sign_off, people):
    """An applied change, one waiting on an A3 (+18%), a bid change and a blocked one."""
    tenant = no_client_sign_off
    applied = submit(tenant, budget("search-brand", "300.00", "350.00"), change_set_id="cs-applied")
    waiting = submit(
        tenant, budget("search-generic", "200.00", "290.00"), change_set_id="cs-waiting"
    )  # +90 of €550 live: 16.4%
    bid = submit(
        tenant,
        {
            "entity_id": "social-prospecting",
            "field": "bid_strategy",
            "before": "target_cpa",
            "after": "max_conversions",
        },
        agent="bidder",
        change_set_id="cs-bid",
    )
    blocked = submit(
        tenant,
        {"entity_id": None, "field": "geo", "before": None, "after": "FR"},
        change_set_id="cs-blocked",
    )
    return {"applied": applied, "waiting": waiting, "bid": bid, "blocked": blocked}


# --- Who may read and act ------------------------------------------------------------------------
READ_PAGES = [
    pytest.param(lambda h: track_url("log"), id="log"),
    pytest.param(lambda h: track_url("log_csv"), id="csv"),
    pytest.param(lambda h: track_url("manifest"), id="manifest"),
    pytest.param(lambda h: track_url("drift"), id="drift"),
    pytest.param(lambda h: track_url("seasonality"), id="seasonality"),
    pytest.param(lambda h: cs_url(h["applied"]), id="change-set-applied"),
    pytest.param(lambda h: cs_url(h["waiting"]), id="change-set-waiting"),
    pytest.param(lambda h: cs_url(h["blocked"]), id="change-set-blocked"),
]


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.PLANNER, 200),
        (Role.OPERATOR, 200),
        (Role.ADMIN, 200),
        (Role.LEGAL, 200),
        (Role.CLIENT, 403),
    ],
)
def test_internal_roles_read_every_optimization_page_and_a_client_may_not(
    as_role, history, page, role, status
):
    assert as_role(role).get(page(history)).status_code == status


def test_another_tenants_track_and_change_set_are_not_found(client, history, globex, bob):
    client.force_login(bob)
    for path in [track_url("log"), track_url("manifest"), cs_url(history["applied"])]:
        assert client.get(path).status_code == 404
    # Inside their own tenant, acme's change set id names nothing either.
    assert client.get(url("change_set", "cs-applied", tenant="globex")).status_code == 404
    assert client.get(url("log", "always_on", tenant="globex")).status_code == 404


# --- The log -------------------------------------------------------------------------------------
def test_the_log_shows_who_what_when_outcome_and_ticket_newest_first(as_role, history):
    response = as_role(Role.LEGAL).get(track_url("log"))
    page = body(response)
    assert response.status_code == 200
    assert "<title>always_on optimization log" in page
    order = [page.index(f'data-change-set="{i}"') for i in ("cs-blocked", "cs-bid", "cs-applied")]
    assert order == sorted(order)
    assert "search-generic" in page and "€200 → €290" in page
    assert "Waiting for approval" in page and "Blocked (structural)" in page
    assert f'href="/tickets/{history["waiting"].ticket}/"' in page
    assert "applied €350" in page
    assert "bidder" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"outcome": "pending_approval"}, ["cs-waiting"], ["cs-applied", "cs-bid"]),
        ({"agent": "bidder"}, ["cs-bid"], ["cs-applied", "cs-waiting"]),
        ({"field": "geo"}, ["cs-blocked"], ["cs-applied", "cs-bid"]),
        ({"date_from": "2026-11-11"}, [], ["cs-applied", "cs-bid", "cs-waiting"]),
        ({"date_to": "2026-11-10"}, ["cs-applied", "cs-bid"], []),
    ],
    ids=["outcome", "agent", "field", "from-tomorrow", "to-today"],
)
def test_the_log_filters(as_role, history, query, shown, hidden):
    page = body(as_role(Role.OPERATOR).get(track_url("log"), query))
    for change_set_id in shown:
        assert f'data-change-set="{change_set_id}"' in page
    for change_set_id in hidden:
        assert f'data-change-set="{change_set_id}"' not in page


def test_a_filter_that_cannot_be_read_says_so(as_role, history):
    page = body(as_role(Role.OPERATOR).get(track_url("log"), {"outcome": "nonsense"}))
    assert "Outcome: Select a valid choice" in page


def test_htmx_gets_only_the_rows(as_role, history):
    response = as_role(Role.OPERATOR).get(
        track_url("log"), {"agent": "bidder"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="log-rows"
    )
    page = body(response)
    assert page.lstrip().startswith('<div id="log-rows">')
    assert "cs-bid" in page and "<html" not in page


def test_the_log_pages_and_reads_a_fixed_number_of_queries(
    as_role, no_client_sign_off, django_assert_max_num_queries
):
    for n in range(30):
        submit(
            no_client_sign_off,
            {
                "entity_id": "search-brand",
                "field": "bid",
                "before": n if n else None,
                "after": n + 1,
            },
            change_set_id=f"cs-{n:03d}",
        )
    reader = as_role(Role.OPERATOR)
    with django_assert_max_num_queries(14):
        first = body(reader.get(track_url("log")))
    assert "30 change sets" in first and "page 1 of 2" in first
    assert 'data-change-set="cs-029"' in first and 'data-change-set="cs-004"' not in first
    with django_assert_max_num_queries(14):
        second = body(reader.get(track_url("log"), {"page": 2}))
    assert 'data-change-set="cs-000"' in second


def test_the_csv_keeps_the_filters_and_shows_asked_approved_and_applied(as_role, history, people):
    waiting = history["waiting"]
    from optimization.services import change_set_approve_with_edit

    change_set_approve_with_edit(
        change_set=waiting, actor=Actor.for_user(people[Role.OPERATOR]), approved={0: "250.00"}
    )
    response = as_role(Role.PLANNER).get(track_url("log_csv"), {"field": "daily_budget"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="optimization-acme-always_on-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["change_set_id"] for r in rows} == {"cs-applied", "cs-waiting"}
    edited = next(r for r in rows if r["change_set_id"] == "cs-waiting")
    assert (edited["before"], edited["asked"], edited["approved"], edited["applied"]) == (
        "200.00",
        "290.00",
        "250.00",
        "250.00",
    )
    assert edited["status"] == "applied" and edited["ticket"].startswith("A3-")
    assert edited["applied_at"].startswith("2026-11-10T11:00:00+01:00")


def test_the_csv_defuses_formulas_an_agent_wrote(as_role, no_client_sign_off):
    submit(
        no_client_sign_off,
        budget("search-brand", "300.00", "310.00"),
        agent="=HYPERLINK(1)",
        change_set_id="cs-formula",
    )
    response = as_role(Role.OPERATOR).get(track_url("log_csv"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["agent"] == "'=HYPERLINK(1)"


def test_the_csv_exports_nothing_when_a_filter_is_unreadable(as_role, history):
    response = as_role(Role.OPERATOR).get(track_url("log_csv"), {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "Nothing exported" in body(response)


# --- The change set page -------------------------------------------------------------------------
def test_the_change_set_page_shows_the_request_the_checks_the_history_and_the_ticket(
    as_role, history
):
    waiting = history["waiting"]
    page = body(as_role(Role.PLANNER).get(cs_url(waiting)))
    assert "Waiting for approval" in page
    assert "beyond the 10% guardrail" in page  # the status reason
    assert 'data-testid="checks"' in page and "€550" in page and "+€90" in page
    assert "16.4%" in page
    assert "Sent for approval" in page and "Proposed" in page
    assert waiting.ticket in page
    # A planner reads; the actions are an operator's.
    assert "Approve a smaller move" not in page
    assert "Roll back" not in page


def test_an_operator_sees_the_smaller_move_form_on_a_change_set_waiting_on_an_a3(as_role, history):
    page = body(as_role(Role.OPERATOR).get(cs_url(history["waiting"])))
    assert "Approve a smaller move" in page
    assert 'name="item-0"' in page
    # A short button; the subject, in full, in the form's heading (issue 18 item 6).
    assert (
        '<h2 id="smaller-heading">Approve a smaller move of <span class="mono wrap">cs-waiting'
        in page
    )
    assert (
        '<button type="submit" class="btn btn-primary" aria-describedby="smaller-heading">'
        "Approve</button>"
    ) in page


def test_an_admin_is_not_offered_a_smaller_move_the_a3_would_refuse(as_role, history):
    """Only an operator fills the A3's slot: an admin reads the change set without the form."""
    page = body(as_role(Role.ADMIN).get(cs_url(history["waiting"])))
    assert "Approve a smaller move" not in page


def test_an_operator_approves_a_smaller_move_and_it_applies(as_role, history):
    waiting = history["waiting"]
    response = as_role(Role.OPERATOR).post(
        cs_url(waiting), {"action": "approve_smaller", "item-0": "250", "comment": "+10% only"}
    )
    assert response.status_code == 302 and response.url == cs_url(waiting)
    waiting.refresh_from_db()
    assert waiting.status == "applied"
    assert live_budget("search-generic") == "250.00"
    assert Ticket.objects.get(public_id=waiting.ticket).status == TicketStatus.APPROVED
    page = body(as_role(Role.OPERATOR).get(cs_url(waiting)))
    assert "Approved for a smaller move" in page
    assert 'data-testid="edit-checks"' in page


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("400", "A smaller move lies between €200 and €290 (asked); €400 does not."),
        ("lots", "A daily budget is an amount."),
    ],
)
def test_a_bad_smaller_move_re_renders_beside_the_field_and_writes_nothing(
    as_role, history, value, message
):
    waiting = history["waiting"]
    events, audit = ChangeSetEvent.objects.count(), AuditEvent.objects.count()
    response = as_role(Role.OPERATOR).post(
        cs_url(waiting), {"action": "approve_smaller", "item-0": value}
    )
    assert response.status_code == 422
    page = body(response)
    assert f'<div class="error" id="err_item-0" role="alert">{message}</div>' in page
    assert f'value="{value}"' in page
    assert (ChangeSetEvent.objects.count(), AuditEvent.objects.count()) == (events, audit)
    assert Ticket.objects.get(public_id=waiting.ticket).status == TicketStatus.OPEN
    assert live_budget("search-generic") == "200.00"


def test_a_smaller_move_with_no_value_asks_for_one(as_role, history):
    response = as_role(Role.OPERATOR).post(
        cs_url(history["waiting"]), {"action": "approve_smaller", "item-0": ""}
    )
    assert response.status_code == 422
    assert "Give the smaller move for at least one daily budget." in body(response)


@pytest.mark.parametrize("role", [Role.PLANNER, Role.LEGAL])
def test_only_operators_and_admins_act_on_change_sets(as_role, history, role):
    reader = as_role(role)
    for data, change_set in [
        ({"action": "approve_smaller", "item-0": "250"}, history["waiting"]),
        ({"action": "roll_back"}, history["applied"]),
    ]:
        assert reader.post(cs_url(change_set), data).status_code == 403
    assert ChangeSet.objects.count() == 4
    assert live_budget("search-generic") == "200.00"


def test_an_admin_rolls_back_from_the_preview_and_lands_on_the_new_change_set(as_role, history):
    applied = history["applied"]
    admin = as_role(Role.ADMIN)
    page = body(admin.get(cs_url(applied)))
    assert 'data-testid="rollback-preview"' in page
    assert "within them, it applies at once" in page
    assert "Roll back cs-applied" in page
    response = admin.post(cs_url(applied), {"action": "roll_back", "reason": "CPA got worse"})
    rollback = ChangeSet.objects.get(reverts=applied)
    assert response.status_code == 302 and response.url == cs_url(rollback)
    assert (rollback.kind, rollback.status, rollback.reason) == (
        "rollback",
        "applied",
        "CPA got worse",
    )
    assert live_budget("search-brand") == "300.00"
    page = body(admin.get(cs_url(rollback)))
    assert "Reverts" in page and "cs-applied" in page
    again = body(admin.get(cs_url(applied)))
    assert "It can't be rolled back now: It was rolled back already." in again


def test_a_rollback_refused_by_the_service_writes_nothing(as_role, history):
    applied = history["applied"]
    submit(history["applied"].tenant, budget("search-brand", "350.00", "360.00"))
    count = ChangeSet.objects.count()
    operator = as_role(Role.OPERATOR)
    assert "The live state moved since it was applied" in body(operator.get(cs_url(applied)))
    response = operator.post(cs_url(applied), {"action": "roll_back"}, follow=True)
    assert "The live state moved since it was applied" in body(response)
    assert ChangeSet.objects.count() == count


def test_an_unknown_action_changes_nothing(as_role, history):
    response = as_role(Role.OPERATOR).post(cs_url(history["waiting"]), {"action": "delete"})
    assert response.status_code == 400
    assert ChangeSet.objects.get(pk=history["waiting"].pk).status == "pending_approval"


def test_a_change_set_id_with_a_slash_has_a_page(as_role, no_client_sign_off):
    change_set = submit(
        no_client_sign_off, budget("search-brand", "300.00", "310.00"), change_set_id="run/7 #a"
    )
    reader = as_role(Role.OPERATOR)
    assert cs_url(change_set) == "/t/acme/change-sets/run/7%20%23a/"
    assert reader.get(cs_url(change_set)).status_code == 200
    assert "run/7 #a" in body(reader.get(track_url("log")))


# --- The live manifest and the hold --------------------------------------------------------------
def test_the_manifest_shows_each_entry_its_version_and_its_history(
    as_role, history, django_assert_max_num_queries
):
    reader = as_role(Role.LEGAL)
    # 13: the track's alignment label (optimization/alignment.py) reads the entries once more.
    with django_assert_max_num_queries(13):
        response = reader.get(track_url("manifest"))
    page = body(response)
    v1 = PlanVersion.objects.get(tenant=history["applied"].tenant, track__key="always_on")
    assert f'href="/t/acme/plans/v/{v1.number}/"' in page
    assert 'data-entity="search-brand"' in page and "€350" in page
    assert f'href="{cs_url(history["applied"])}"' in page
    assert "Pause all spend" in page
    assert "Pause all spend on always_on" not in page  # the button is an operator's


def test_an_operator_pauses_all_spend_and_resumes_it(as_role, history):
    operator = as_role(Role.OPERATOR)
    response = operator.post(
        track_url("hold_start"), {"reason": "Client asked to stop", "confirm": "1"}
    )
    assert response.status_code == 302
    hold = TrackHold.objects.get()
    assert hold.reason == "Client asked to stop" and hold.is_active
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["status"] == "paused"
    page = body(operator.get(track_url("manifest")))
    assert "All spend paused" in page and "Resume spend on always_on" in page
    operator.post(track_url("hold_end"))
    hold.refresh_from_db()
    assert not hold.is_active
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["status"] == "active"


@pytest.mark.parametrize("role", [Role.PLANNER, Role.LEGAL, Role.CLIENT])
def test_only_operators_and_admins_pause_spend(as_role, history, role):
    reader = as_role(role)
    assert reader.post(track_url("hold_start"), {"reason": "no"}).status_code == 403
    assert reader.post(track_url("hold_end")).status_code == 403
    assert not TrackHold.objects.exists()


def test_a_hold_reason_that_cannot_be_stored_re_renders_and_pauses_nothing(as_role, history):
    response = as_role(Role.OPERATOR).post(track_url("hold_start"), {"reason": "x" * 2001})
    assert response.status_code == 422
    assert "at most 2000 characters" in body(response)
    assert not TrackHold.objects.exists()
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["status"] == "active"


def test_pausing_twice_says_it_is_on_hold_already(as_role, history):
    operator = as_role(Role.OPERATOR)
    operator.post(track_url("hold_start"), {"reason": "stop", "confirm": "1"})
    response = operator.post(
        track_url("hold_start"), {"reason": "stop", "confirm": "1"}, follow=True
    )
    assert "always_on is on hold already." in body(response)
    assert TrackHold.objects.count() == 1


# --- Drift ---------------------------------------------------------------------------------------
def test_the_drift_panel_draws_each_channel_against_the_threshold(
    as_role, history, django_assert_max_num_queries
):
    reader = as_role(Role.PLANNER)
    # One more than before issue 16: the track's approved versions, to know which one last
    # changed each channel (where its drift restarts).
    with django_assert_max_num_queries(13):
        page = body(reader.get(track_url("drift")))
    assert "<svg" in page and 'data-threshold="upper"' in page and 'data-threshold="lower"' in page
    assert '<polyline points="' in page and 'data-channel="search"' in page
    assert "±15% threshold" in page
    assert "+10%" in page  # search: +€50 of €500 planned a day
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_a_drift_beyond_the_threshold_is_named(as_role, history, people):
    ticket_decide(
        ticket=Ticket.objects.get(public_id=history["waiting"].ticket),
        actor=Actor.for_user(people[Role.OPERATOR]),
        verdict="approve",
    )
    page = body(as_role(Role.PLANNER).get(track_url("drift")))
    assert "search has drifted +28% — beyond ±15%." in page


# --- The seasonality calendar --------------------------------------------------------------------
def test_a_planner_adds_and_removes_a_flight_change(as_role, live):
    planner = as_role(Role.PLANNER)
    response = planner.post(
        track_url("seasonality"),
        {
            "channel": "search",
            "starts_on": "2026-12-20",
            "ends_on": "2026-12-31",
            "budget": "9000",
            "note": "Christmas push",
        },
    )
    assert response.status_code == 302
    change = SeasonalChange.objects.get()
    assert (change.channel, change.budget, change.note) == (
        "search",
        Decimal("9000.00"),
        "Christmas push",
    )
    page = body(planner.get(track_url("seasonality")))
    assert "20 Dec 2026 – 31 Dec 2026" in page and "€9,000" in page
    assert "Remove search 20 Dec 2026" in page
    planner.post(track_url("seasonality_remove", change.pk))
    assert not SeasonalChange.objects.exists()


def test_the_calendar_reads_a_fixed_number_of_queries(as_role, live, django_assert_max_num_queries):
    for day in range(12, 24):
        seasonal_change_set(
            track=track_of(live),
            channel="social",
            starts_on=nov(day),
            ends_on=nov(day + 5),
            budget=Decimal("500"),
            note=f"push {day}",
            actor=TEST_ACTOR,
        )
    triggers_scan()  # carries the entries starting within 14 days into recommendations
    planner = as_role(Role.PLANNER)
    with django_assert_max_num_queries(12):
        page = body(planner.get(track_url("seasonality")))
    assert page.count("data-entry=") == 12
    assert page.count('href="/tickets/A5-') == 12  # each carried by its recommendation


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ends_on": "2026-12-01"}, "The flight ends before it starts."),
        ({"channel": "tiktok"}, "Select a valid choice. tiktok is not one of the available"),
        ({"budget": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"starts_on": "soon"}, "Enter a valid date."),
    ],
    ids=["dates", "channel", "budget", "date"],
)
def test_a_bad_calendar_entry_re_renders_with_a_message_and_writes_nothing(
    as_role, live, data, message
):
    audit = AuditEvent.objects.count()
    response = as_role(Role.PLANNER).post(
        track_url("seasonality"),
        {
            "channel": "search",
            "starts_on": "2026-12-20",
            "ends_on": "2026-12-31",
            "budget": "9000",
            **data,
        },
    )
    assert response.status_code == 422
    assert message in body(response)
    assert not SeasonalChange.objects.exists()
    assert AuditEvent.objects.count() == audit


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN, Role.LEGAL])
def test_only_planners_edit_the_calendar(as_role, live, role):
    change = seasonal_change_set(
        track=track_of(live),
        channel="search",
        starts_on=nov(20),
        ends_on=nov(30),
        budget=Decimal("1000"),
        note="",
        actor=TEST_ACTOR,
    )
    reader = as_role(role)
    page = body(reader.get(track_url("seasonality")))
    assert "Add a flight change" not in page and "Remove search" not in page
    data = {"channel": "search", "starts_on": "2026-12-20", "ends_on": "2026-12-31", "budget": "1"}
    assert reader.post(track_url("seasonality"), data).status_code == 403
    assert reader.post(track_url("seasonality_remove", change.pk)).status_code == 403
    assert SeasonalChange.objects.count() == 1


def test_another_tracks_calendar_entry_is_not_found(as_role, live, globex, bob):
    change = seasonal_change_set(
        track=track_of(live),
        channel="search",
        starts_on=nov(20),
        ends_on=nov(30),
        budget=Decimal("1000"),
        note="",
        actor=TEST_ACTOR,
    )
    planner = as_role(Role.PLANNER)
    assert planner.post(url("seasonality_remove", "branding", change.pk)).status_code == 404
    assert planner.post(track_url("seasonality_remove", change.pk + 1)).status_code == 404
    assert SeasonalChange.objects.count() == 1


# --- The version page and navigation -------------------------------------------------------------
def test_the_version_page_links_the_entries_that_implement_it(as_role, history):
    v1 = PlanVersion.objects.get(tenant=history["applied"].tenant, track__key="always_on")
    page = body(as_role(Role.LEGAL).get(reverse("plans:version", args=["acme", v1.number])))
    assert f"Live entities implementing v{v1.number}" in page
    entry = ExecutionManifestEntry.objects.get(entity_id="search-brand")
    assert f'href="/t/acme/plans/tracks/always_on/manifest/#entity-{entry.pk}"' in page


def test_the_track_pages_link_each_other(as_role, history):
    reader = as_role(Role.PLANNER)
    for path in [
        reverse("plans:timeline", args=["acme", "always_on"]),
        track_url("log"),
        track_url("manifest"),
        track_url("drift"),
        track_url("seasonality"),
    ]:
        page = body(reader.get(path))
        for target in ("log", "manifest", "drift", "seasonality"):
            assert f'href="{track_url(target)}"' in page, (path, target)
    overview = body(reader.get(reverse("plans:overview", args=["acme"])))
    assert f'href="{track_url("log")}"' in overview


# --- A recommendation's evidence on its ticket ---------------------------------------------------
@pytest.fixture
def drift_recommendation(history, people, on_10_november):
    """search drifts 28% (+€140 of €500 a day) with the A3 approved; the scan recommends."""
    ticket_decide(
        ticket=Ticket.objects.get(public_id=history["waiting"].ticket),
        actor=Actor.for_user(people[Role.OPERATOR]),
        verdict="approve",
    )
    on_10_november.shift(timedelta(hours=1))
    triggers_scan()
    return Recommendation.objects.get(signal=Signal.DRIFT)


def ticket_page(recommendation) -> str:
    return reverse("ticket", args=[recommendation.ticket])


def test_the_ticket_of_a_drift_recommendation_shows_its_evidence_and_chart(
    as_role, drift_recommendation
):
    page = body(as_role(Role.PLANNER).get(ticket_page(drift_recommendation)))
    assert 'data-testid="evidence"' in page
    assert "Cumulative drift" in page and "28%" in page and "30 days" in page
    assert "<svg" in page and 'data-threshold="upper"' in page
    for change_set_id in ("cs-applied", "cs-waiting"):
        assert f'href="{url("change_set", change_set_id)}"' in page
    assert "Approving makes the next version of always_on" in page
    # One primary action: the decision panel's Approve; the evidence offers no second button.
    assert "Take up" not in page and "Turn into a draft" not in page


def decide(recommendation) -> str:
    return reverse("ticket_decide", args=[recommendation.ticket])


def test_only_a_planner_may_approve_a_recommendation(as_role, drift_recommendation):
    page = body(as_role(Role.OPERATOR).get(ticket_page(drift_recommendation)))
    assert 'data-testid="evidence"' in page
    assert 'name="verdict" value="approve"' not in page
    response = as_role(Role.OPERATOR).post(decide(drift_recommendation), {"verdict": "approve"})
    assert response.status_code == 403
    assert Recommendation.objects.get().status == RecommendationStatus.OPEN


def test_approving_a_recommendation_opens_its_new_draft_in_the_editor(
    as_role, drift_recommendation
):
    planner = as_role(Role.PLANNER)
    response = planner.post(decide(drift_recommendation), {"verdict": "approve"})
    drift_recommendation.refresh_from_db()
    assert drift_recommendation.status == RecommendationStatus.DRAFTED
    draft = PlanVersion.objects.get(number=drift_recommendation.draft_number)
    assert (draft.status, draft.kind, draft.track.key) == ("draft", "revise", "always_on")
    assert response.status_code == 302
    assert response.url == reverse("plans:edit", args=["acme", draft.number])
    editor = body(planner.get(response.url))
    assert f"draft v{draft.number} of always_on is ready to review and submit" in editor
    page = body(planner.get(ticket_page(drift_recommendation)))
    assert f'href="/t/acme/plans/v/{draft.number}/"' in page
    assert f"draft v{draft.number} of always_on" in page


def test_with_htmx_approving_a_recommendation_redirects_the_page_to_the_editor(
    as_role, drift_recommendation
):
    response = as_role(Role.PLANNER).post(
        decide(drift_recommendation), {"verdict": "approve"}, headers={"HX-Request": "true"}
    )
    drift_recommendation.refresh_from_db()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse(
        "plans:edit", args=["acme", drift_recommendation.draft_number]
    )


def test_rejecting_a_recommendation_stays_on_its_ticket(as_role, drift_recommendation):
    response = as_role(Role.PLANNER).post(
        decide(drift_recommendation),
        {"verdict": "reject", "confirm": "1", "comment": "The drift is seasonal."},
    )
    assert response.status_code == 302 and response.url == ticket_page(drift_recommendation)
    assert Recommendation.objects.get().status == RecommendationStatus.DISMISSED
    assert not PlanVersion.objects.filter(status="draft").exists()


def test_another_tenants_recommendation_is_not_found(client, drift_recommendation, globex, bob):
    from tenants.services import membership_set

    membership_set(tenant=globex, user=bob, role=Role.PLANNER, actor=TEST_ACTOR)
    client.force_login(bob)
    response = client.post(decide(drift_recommendation), {"verdict": "approve"})
    assert response.status_code == 404
    assert Recommendation.objects.get().status == RecommendationStatus.OPEN


def test_the_ticket_of_a_change_set_links_its_page(as_role, history):
    page = body(as_role(Role.OPERATOR).get(reverse("ticket", args=[history["waiting"].ticket])))
    assert 'data-testid="change-set-panel"' in page
    assert f'href="{cs_url(history["waiting"])}#approve-smaller"' in page
    assert "Open change set cs-waiting" in page
