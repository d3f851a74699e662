"""Demo plans (docs/agent-api.md "Demo world"), idempotent.

acme: always_on went through the real lifecycle — v1 initial, v2 revise (search +12%, CPA target
36), v3 replan (TikTok added), each drafted by `planner`, submitted and approved through its
tickets by the demo people — so v3 is current and v1, v2 are superseded; plus an approved
branding track; then a revise (social +12%) and a special-day plan are submitted and left
waiting, so their A5, A1 and A7 tickets are real ones people can decide. globex: an approved
always_on, imported (globex has no internal demo users to approve it). Both tenants get a master
envelope.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from plans.models import SUBJECT_TYPE, PlanStatus, PlanTrigger, PlanVersion, Track
from plans.services import (
    master_plan_set,
    plan_version_create_draft,
    plan_version_import_approved,
    plan_version_submit,
)
from tenants.demo_clock import DemoClock
from tenants.models import Membership, Tenant

SEED_ACTOR = Actor.system("seed_demo")

ACME_V1 = {
    "objective": "purchases",
    "primary_kpi": "cpa",
    "kpi_targets": {"cpa": "40", "roas": "4"},
    "geos": ["DE", "AT"],
    "currency": "EUR",
    "start": "2026-11-01",
    "end": "2027-01-31",
    "channels": [
        {
            "channel": "search",
            "platform": "google_ads",
            "budget": "40000",
            "flights": [
                {"start": "2026-11-01", "end": "2026-11-30", "budget": "15000"},
                {"start": "2026-12-01", "end": "2026-12-31", "budget": "15000"},
                {"start": "2027-01-01", "end": "2027-01-31", "budget": "10000"},
            ],
        },
        {
            "channel": "social",
            "platform": "meta",
            "budget": "30000",
            "flights": [
                {"start": "2026-11-01", "end": "2026-11-30", "budget": "10000"},
                {"start": "2026-12-01", "end": "2026-12-31", "budget": "12000"},
                {"start": "2027-01-01", "end": "2027-01-31", "budget": "8000"},
            ],
        },
    ],
    "creative_themes": ["winter sale", "gift guide"],
    "messaging": "Warm up for less: the winter sale is on.",
}


def _acme_v2(plan: dict) -> None:
    search = plan["channels"][0]
    search["budget"], search["flights"][1]["budget"] = "44800", "19800"
    plan["kpi_targets"]["cpa"] = "36"


def _acme_v3(plan: dict) -> None:
    plan["channels"].append(
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "budget": "8000",
            "flights": [{"start": "2026-12-01", "end": "2026-12-31", "budget": "8000"}],
        }
    )


ACME_BRANDING = {
    "objective": "awareness",
    "primary_kpi": "cpm",
    "kpi_targets": {"cpm": "6.5"},
    "geos": ["DE"],
    "currency": "EUR",
    "start": "2026-12-01",
    "end": "2027-01-31",
    "channels": [
        {
            "channel": "video",
            "platform": "youtube",
            "budget": "20000",
            "flights": [
                {"start": "2026-12-01", "end": "2026-12-31", "budget": "12000"},
                {"start": "2027-01-01", "end": "2027-01-31", "budget": "8000"},
            ],
        }
    ],
    "creative_themes": ["brand film"],
    "messaging": "Acme: winter, well made.",
}

GLOBEX_ALWAYS_ON = {
    "objective": "leads",
    "primary_kpi": "cpl",
    "kpi_targets": {"cpl": "55"},
    "geos": ["US"],
    "currency": "USD",
    "start": "2026-11-01",
    "end": "2027-01-31",
    "channels": [
        {
            "channel": "search",
            "platform": "google_ads",
            "budget": "36000",
            "flights": [
                {"start": "2026-11-01", "end": "2026-11-30", "budget": "12000"},
                {"start": "2026-12-01", "end": "2026-12-31", "budget": "12000"},
                {"start": "2027-01-01", "end": "2027-01-31", "budget": "12000"},
            ],
        },
        {
            "channel": "social",
            "platform": "meta",
            "budget": "18000",
            "flights": [{"start": "2026-11-01", "end": "2027-01-31", "budget": "18000"}],
        },
    ],
    "creative_themes": ["find a clinic near you"],
    "messaging": "Book a check-up with a Globex clinician this winter.",
}


def _acme_v5(plan: dict) -> None:
    social = plan["channels"][1]
    social["budget"], social["flights"][1]["budget"] = "33600", "15600"


ACME_EVENT = {
    "objective": "purchases",
    "primary_kpi": "roas",
    "kpi_targets": {"roas": "5"},
    "geos": ["DE"],
    "currency": "EUR",
    "start": "2027-03-02",
    "end": "2027-03-16",
    "channels": [
        {
            "channel": "search",
            "platform": "google_ads",
            "budget": "6000",
            "flights": [{"start": "2027-03-02", "end": "2027-03-16", "budget": "6000"}],
        },
        {
            "channel": "social",
            "platform": "meta",
            "budget": "4000",
            "flights": [{"start": "2027-03-02", "end": "2027-03-16", "budget": "4000"}],
        },
    ],
    "creative_themes": ["spring launch"],
    "messaging": "New season, new range: the spring launch is here.",
}


def _changed(plan: dict, change: Callable[[dict], None]) -> dict:
    copied = copy.deepcopy(plan)
    change(copied)
    return copied


def _person(tenant: Tenant, role: str, *, not_user=None):
    """The tenant's first demo person in `role` (other than `not_user`: four eyes)."""
    memberships = Membership.objects.filter(tenant=tenant, role=role).select_related("user")
    if not_user is not None:
        memberships = memberships.exclude(user=not_user)
    membership = memberships.order_by("user__username").first()
    return membership.user if membership else None


def _submitted(
    tenant: Tenant, *, track_key: str, kind: str, payload: dict, reason: str, trigger: str
):
    """Draft as the demo planner and submit: its tickets stay open for people to decide."""
    planner = Actor.for_user(_person(tenant, "planner"))
    version = plan_version_create_draft(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload,
        actor=planner,
        reason=reason,
        trigger=trigger,
    )
    return plan_version_submit(version=version, actor=planner)


def _has_pending(tenant: Tenant, key: str) -> bool:
    return PlanVersion.objects.filter(
        tenant=tenant, track__key=key, status=PlanStatus.PENDING_APPROVAL
    ).exists()


# When people decide a plan's tickets, after it was submitted: the next working day (morning and
# afternoon), then the one after — a realistic wait for a time-to-approve figure.
DECISION_MOMENTS = [(1, "09:40"), (1, "14:20"), (2, "11:15"), (2, "16:05")]


def _through_tickets(
    tenant: Tenant,
    *,
    track_key: str,
    kind: str,
    payload: dict,
    reason: str,
    trigger: str,
    clock: DemoClock,
    days_back: int,
) -> None:
    """Draft and submit as the demo planner `days_back` working days ago, then approve every
    ticket in each required role over the next working days (DECISION_MOMENTS)."""
    with clock.at(days_back, "10:05"):
        version = _submitted(
            tenant, track_key=track_key, kind=kind, payload=payload, reason=reason, trigger=trigger
        )
    tickets = Ticket.objects.filter(
        tenant=tenant,
        subject_type=SUBJECT_TYPE,
        subject_id=str(version.number),
        status=TicketStatus.OPEN,
    ).order_by("type")
    slots = [(ticket, slot) for ticket in tickets for slot in ticket.required_roles]
    for (ticket, slot), (later, at) in zip(slots, DECISION_MOMENTS * 3, strict=False):
        role = slot.split("/")[0]
        with clock.at(max(days_back - later, 1), at):
            ticket.refresh_from_db()
            ticket_decide(
                ticket=ticket,
                actor=Actor.for_user(_person(tenant, role, not_user=version.drafted_by_user)),
                verdict=Verdict.APPROVE,
                role=role,
                comment="Looks right." if role != "client" else "Approved for the winter push.",
            )


def _has_current(tenant: Tenant, key: str) -> bool:
    return Track.objects.filter(tenant=tenant, key=key, current_version__isnull=False).exists()


# The plan history, in working days back from now (tenants.demo_clock): kick-off eight weeks ago,
# a revise after five weeks of November, the TikTok replan three weeks ago, the brand film after it.
ENVELOPE_AT = 40
ACME_STEPS_AT = {"initial": 38, "revise": 25, "replan": 15}
BRANDING_AT = 12
GLOBEX_IMPORT_AT = 30
REVISE_DRAFT_AT = (1, "14:00")
EVENT_DRAFT_AT = (1, "15:00")


def seed(*, log: Callable[[str], None]) -> None:
    # Long on purpose: the demo's plan history in order (drafted, submitted, approved, superseded),
    # one service call per step at its moment; reading it as one sequence is the point.
    acme = Tenant.objects.get(slug="acme")
    globex = Tenant.objects.get(slug="globex")
    clock = DemoClock(acme.time_zone)
    with clock.at(ENVELOPE_AT, "09:30"):
        master_plan_set(
            tenant=acme,
            period_start=date(2026, 10, 1),
            period_end=date(2027, 3, 31),
            currency="EUR",
            total_budget=Decimal("150000"),
            track_caps={"always_on": "100000", "branding": "30000"},
            actor=SEED_ACTOR,
        )
    globex_clock = DemoClock(globex.time_zone)
    with globex_clock.at(ENVELOPE_AT, "09:30"):
        master_plan_set(
            tenant=globex,
            period_start=date(2026, 10, 1),
            period_end=date(2027, 3, 31),
            currency="USD",
            total_budget=Decimal("80000"),
            track_caps={"always_on": "60000"},
            actor=SEED_ACTOR,
        )
    if _has_current(acme, "always_on"):
        log("acme always_on: exists")
    else:
        v2 = _changed(ACME_V1, _acme_v2)
        steps = [
            ("initial", ACME_V1, "Winter plan agreed at kick-off", PlanTrigger.PLANNER),
            ("revise", v2, "Search drifted +12% and converts below target", PlanTrigger.DRIFT),
            (
                "replan",
                _changed(v2, _acme_v3),
                "Client asked to test TikTok",
                PlanTrigger.CLIENT_REQUEST,
            ),
        ]
        for kind, payload, reason, trigger in steps:
            _through_tickets(
                acme,
                track_key="always_on",
                kind=kind,
                payload=payload,
                reason=reason,
                trigger=trigger,
                clock=clock,
                days_back=ACME_STEPS_AT[kind],
            )
        log("acme always_on: v1 initial, v2 revise, v3 replan approved (v3 current)")
    if _has_current(acme, "branding"):
        log("acme branding: exists")
    else:
        _through_tickets(
            acme,
            track_key="branding",
            kind="track_draft",
            payload=ACME_BRANDING,
            reason="Brand film alongside always-on for the holidays",
            trigger=PlanTrigger.PLANNER,
            clock=clock,
            days_back=BRANDING_AT,
        )
        log("acme branding: approved track draft")
    if _has_current(globex, "always_on"):
        log("globex always_on: exists")
    else:
        with globex_clock.at(GLOBEX_IMPORT_AT, "11:00"):
            plan_version_import_approved(
                tenant=globex,
                track_key="always_on",
                kind="initial",
                payload=GLOBEX_ALWAYS_ON,
                actor=SEED_ACTOR,
                approved_by="Globex marketing (signed plan, Oct 2026)",
                reason="Plan signed before onboarding",
            )
        log("globex always_on: approved initial plan")


def seed_waiting(*, log: Callable[[str], None]) -> None:
    """The plans left waiting for people, submitted last working day (after the optimization
    history, which the revise answers)."""
    acme = Tenant.objects.get(slug="acme")
    clock = DemoClock(acme.time_zone)
    if _has_pending(acme, "always_on"):
        log("acme always_on: pending revise exists")
    else:
        current = Track.objects.get(tenant=acme, key="always_on").current_version
        with clock.at(*REVISE_DRAFT_AT):
            _submitted(
                acme,
                track_key="always_on",
                kind="revise",
                payload=_changed(current.payload, _acme_v5),
                reason="Social keeps beating its CPA target; move December budget up 12%",
                trigger=PlanTrigger.DRIFT,
            )
        log("acme always_on: revise (social +12%) waiting for planner and client")
    if _has_pending(acme, "event_spring_launch"):
        log("acme event_spring_launch: pending draft exists")
    else:
        with clock.at(*EVENT_DRAFT_AT):
            _submitted(
                acme,
                track_key="event_spring_launch",
                kind="event_draft",
                payload=ACME_EVENT,
                reason="Spring range launch, 2–16 March",
                trigger=PlanTrigger.PLANNER,
            )
        log("acme event_spring_launch: special-day plan waiting for approval")
