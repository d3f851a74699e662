"""Seed 000 "When to optimize vs revise vs replan": every row is a named case (no database)."""

from decimal import Decimal

import pytest

from plans.classify import ChangePath, classify_change
from tests.plans.plan_samples import (
    branding_plan,
    changed,
    channel,
    engagement_plan,
    event_plan,
    search_up_12_pct,
    winter_plan,
)

WINTER = winter_plan()


def _scale_search(plan: dict, factor: str) -> None:
    search = channel(plan, "search")
    for flight in search["flights"]:
        flight["budget"] = Decimal(str(flight["budget"])) * Decimal(factor)
    search["budget"] = sum(Decimal(str(f["budget"])) for f in search["flights"])


def _reallocate_search_flights(plan: dict) -> None:
    flights = channel(plan, "search")["flights"]
    flights[0]["budget"], flights[1]["budget"] = 10000, 20000


def _add_tiktok(plan: dict) -> None:
    plan["channels"].append(
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "budget": 8000,
            "flights": [{"start": "2026-12-01", "end": "2026-12-31", "budget": 8000}],
        }
    )


def _leads_plan() -> dict:
    return changed(
        WINTER, lambda p: p.update(objective="leads", primary_kpi="cpl", kpi_targets={"cpl": 25})
    )


def _zero_all_spend(plan: dict) -> None:
    for row in plan["channels"]:
        row["budget"] = 0
        for flight in row["flights"]:
            flight["budget"] = 0


def _shift_event_dates(plan: dict) -> None:
    plan["channels"][0]["flights"][0].update(start="2026-11-25", end="2026-11-29")


def _event_budget_plus_5_pct(plan: dict) -> None:
    plan["channels"][0]["budget"] = 12600
    plan["channels"][0]["flights"][0]["budget"] = 12600


def _engagement_burst(plan: dict) -> None:
    plan["channels"][0]["budget"] = 9000
    plan["channels"][0]["flights"][0]["budget"] = 9000


SEED_TABLE = [
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, lambda p: _scale_search(p, "1.075")),
        },
        ChangePath.OPTIMIZATION,
        (),
        "within ±10",
        id="±10% budget shift within same structure → optimization only",
    ),
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, lambda p: _scale_search(p, "1.05")),
            "drift_pct_by_channel": {"search": Decimal("18")},
        },
        ChangePath.REVISE,
        ("revise",),
        "cumulative drift search 18% vs the approved plan",
        id="cumulative channel drift >15% (rolling 30d) → plan revise",
    ),
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, lambda p: p["kpi_targets"].update(cpa=36)),
        },
        ChangePath.REVISE,
        ("revise",),
        "KPI target adjustment with the same objective (cpa 40 → 36)",
        id="KPI target adjustment (same objective, new CPA target) → plan revise",
    ),
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, lambda p: p["kpi_targets"].update(roas="4.5")),
        },
        ChangePath.REVISE,
        ("revise",),
        "roas 4 → 4.5",
        id="KPI target adjustment (same objective, new ROAS target) → plan revise",
    ),
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, _reallocate_search_flights),
        },
        ChangePath.REVISE,
        ("revise",),
        "search flight of 1 Nov budget moves 33.3%",
        id="seasonal budget flight update (same channels) → plan revise",
    ),
    pytest.param(
        {
            "track": "event_black_friday",
            "current": event_plan(),
            "proposed": changed(event_plan(), _shift_event_dates),
        },
        ChangePath.REVISE,
        ("revise", "event_draft"),
        "special-day dates shift on the event track",
        id="special-day date shift → revise on the event track (or event draft)",
    ),
    pytest.param(
        {
            "track": "event_black_friday",
            "current": event_plan(),
            "proposed": changed(event_plan(), _event_budget_plus_5_pct),
        },
        ChangePath.REVISE,
        ("revise", "event_draft"),
        "special-day budget shift (search 5.0%)",
        id="special-day budget shift → revise on the event track (or event draft)",
    ),
    pytest.param(
        {"track": "branding", "current": None, "proposed": branding_plan()},
        ChangePath.TRACK_DRAFT,
        ("track_draft",),
        "new branding plan alongside",
        id="new branding flight alongside always-on → new track + track draft",
    ),
    pytest.param(
        {
            "track": "engagement",
            "current": engagement_plan(),
            "proposed": changed(engagement_plan(), _engagement_burst),
        },
        ChangePath.REVISE,
        ("revise", "event_draft"),
        "Plan revise on engagement",
        id="engagement burst on a running engagement track → engagement revise (or event draft)",
    ),
    pytest.param(
        {"track": "engagement", "current": None, "proposed": engagement_plan()},
        ChangePath.EVENT_DRAFT,
        ("event_draft", "track_draft"),
        "engagement burst",
        id="engagement burst with no engagement plan yet → event draft (or new track)",
    ),
    pytest.param(
        {"track": "always_on", "current": WINTER, "proposed": changed(WINTER, _add_tiktok)},
        ChangePath.REPLAN,
        ("replan",),
        "new channel tiktok",
        id="new channel added (add TikTok) → full replan",
    ),
    pytest.param(
        {"track": "always_on", "current": _leads_plan(), "proposed": WINTER},
        ChangePath.REPLAN,
        ("replan",),
        "the objective changes (leads → purchases)",
        id="KPI change (leads → purchases) → full replan",
    ),
    pytest.param(
        {
            "track": "always_on",
            "current": WINTER,
            "proposed": changed(WINTER, lambda p: p["geos"].append("CH")),
        },
        ChangePath.REPLAN,
        ("replan",),
        "new geo or market CH",
        id="new geo or market entry → full replan",
    ),
    pytest.param(
        {"track": "always_on", "current": WINTER, "pause": True},
        ChangePath.OPTIMIZATION_HOLD,
        (),
        "optimization hold",
        id="pause all spend as an operation → optimization hold",
    ),
    pytest.param(
        {"track": "always_on", "current": WINTER, "proposed": changed(WINTER, _zero_all_spend)},
        ChangePath.REVISE,
        ("revise",),
        "plan revise with zero flights",
        id="pause all spend written into the plan → revise with zero flight",
    ),
]


@pytest.mark.parametrize(("arguments", "path", "kinds", "reason"), SEED_TABLE)
def test_every_row_of_the_seed_table_takes_its_path(arguments, path, kinds, reason):
    verdict = classify_change(**arguments)
    assert verdict.path == path
    assert reason in verdict.reason
    assert set(kinds) <= set(verdict.accepted_kinds)
    if path in (ChangePath.OPTIMIZATION, ChangePath.OPTIMIZATION_HOLD):
        assert verdict.accepted_kinds == ()


def test_an_always_on_track_without_a_plan_takes_an_initial_plan():
    verdict = classify_change(track="always_on", current=None, proposed=WINTER)
    assert verdict.path == ChangePath.INITIAL
    assert verdict.accepted_kinds == ("initial",)


def test_a_structural_change_wins_over_every_revise_reason():
    proposal = changed(WINTER, lambda p: (_add_tiktok(p), p["kpi_targets"].update(cpa=30)))
    verdict = classify_change(track="always_on", current=WINTER, proposed=proposal)
    assert verdict.path == ChangePath.REPLAN
    assert "KPI target" not in verdict.reason


def test_a_new_channel_filed_as_a_revise_contradicts_the_verdict_with_the_reason():
    verdict = classify_change(
        track="always_on", current=WINTER, proposed=changed(WINTER, _add_tiktok)
    )
    assert not verdict.accepts("revise")
    assert verdict.contradiction("revise") == (
        "A revise contradicts the classifier, which says replan (file it as replan). "
        "Full replan: new channel tiktok is a structural change."
    )


def test_a_revise_may_be_escalated_to_a_replan_but_never_the_other_way():
    revise = classify_change(
        track="always_on", current=WINTER, proposed=changed(WINTER, search_up_12_pct)
    )
    assert revise.path == ChangePath.REVISE
    assert revise.accepts("replan") and revise.accepts("revise")
    assert not revise.accepts("track_draft")


def test_an_optimization_accepts_no_new_version():
    verdict = classify_change(
        track="always_on",
        current=WINTER,
        proposed=changed(WINTER, lambda p: _scale_search(p, "1.05")),
    )
    assert verdict.path == ChangePath.OPTIMIZATION
    assert "not a new plan version" in verdict.contradiction("revise")


def test_the_tenant_optimization_bound_moves_the_line():
    proposal = changed(WINTER, lambda p: _scale_search(p, "1.075"))
    strict = classify_change(
        track="always_on", current=WINTER, proposed=proposal, optimization_pct=Decimal("5")
    )
    assert strict.path == ChangePath.REVISE
    assert "beyond the ±5% an optimization may move" in strict.reason


def test_an_unchanged_plan_needs_no_version():
    verdict = classify_change(track="always_on", current=WINTER, proposed=WINTER)
    assert verdict.path == ChangePath.OPTIMIZATION
    assert verdict.reason.startswith("Nothing differs")


def test_a_platform_swap_for_a_channel_is_structural():
    proposal = changed(WINTER, lambda p: channel(p, "social").update(platform="tiktok_ads"))
    verdict = classify_change(track="always_on", current=WINTER, proposed=proposal)
    assert verdict.path == ChangePath.REPLAN
    assert "social moves from meta to tiktok_ads" in verdict.reason


def test_dropping_a_channel_is_a_channel_mix_revise():
    proposal = changed(WINTER, lambda p: p["channels"].pop())
    verdict = classify_change(track="always_on", current=WINTER, proposed=proposal)
    assert verdict.path == ChangePath.REVISE
    assert "channel mix changes (social removed)" in verdict.reason
