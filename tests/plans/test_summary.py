"""plan_revise_summary on real-looking plans: golden outputs, read by eye (no database)."""

from datetime import date

import pytest

from plans.diff import plan_diff
from plans.schema import parse_payload
from plans.summary import (
    first_change_day,
    plan_revise_summary,
    ticket_diff_preview,
    track_label,
    version_client_kind,
    version_client_title,
)
from tests.plans.plan_samples import changed, channel, search_up_12_pct, winter_plan

WINTER = winter_plan()


def _replan(plan: dict) -> None:
    plan["channels"].append(
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "budget": 8000,
            "flights": [{"start": "2026-12-01", "end": "2026-12-31", "budget": 8000}],
        }
    )
    social = channel(plan, "social")
    social["budget"], social["flights"][2]["budget"] = 24000, 2000
    plan["geos"].append("CH")
    plan["creative_themes"] = ["winter sale", "new year reset"]
    plan["messaging"] = "Start the year well."


def _revise_with_cpa(plan: dict) -> None:
    search_up_12_pct(plan)
    plan["kpi_targets"]["cpa"] = 36


def test_the_search_revise_reads_as_the_issue_says():
    result = plan_revise_summary(WINTER, changed(WINTER, _revise_with_cpa))
    assert result["summary"] == [
        "Search budget up 12% (€40,000 → €44,800) from 1 Dec.",
        "CPA target from €40 to €36.",
        "Total budget up 6.9% (€70,000 → €74,800).",
    ]
    assert result["kpi_impact"] == [
        "More budget should bring more conversions; the cost per result may rise a little as "
        "spend scales.",
        "A stricter CPA target asks for more efficient spend: expect fewer but cheaper results "
        "at first.",
    ]
    assert result["changes"] == [
        {"field": "kpi_targets.cpa", "before": "40", "after": "36", "note": "−10%"},
        {
            "field": "channels.search.budget",
            "before": "40000.00",
            "after": "44800.00",
            "note": "+12%",
            "format": "money",
            "currency": "EUR",
        },
    ]


def test_a_new_plan_lists_its_geos_and_themes_whole_and_never_says_removed_to_added():
    changes = {c["field"]: c for c in plan_revise_summary(None, WINTER)["changes"]}
    assert changes["geos"]["before"] is None
    assert changes["geos"]["after"] == ["AT", "DE"]  # geos upper-case and sorted
    assert changes["geos"]["note"] == "added AT, DE"
    assert changes["start"]["format"] == "date"
    assert all("removed → added" not in str(c["note"]) for c in changes.values())


def test_a_replan_names_what_joined_a_list_beside_the_whole_lists():
    changes = {
        c["field"]: c for c in plan_revise_summary(WINTER, changed(WINTER, _replan))["changes"]
    }
    assert changes["geos"]["before"] == ["AT", "DE"]
    assert changes["geos"]["after"] == ["AT", "CH", "DE"]
    assert changes["geos"]["note"] == "added CH"


def test_the_budget_table_has_every_channel_before_and_after_with_totals():
    table = plan_revise_summary(WINTER, changed(WINTER, _replan))["budget_table"]
    assert table["currency"] == "EUR"
    assert table["columns"] == ["Channel", "Platform", "Before", "After", "Change", "Change %"]
    assert [
        (r["label"], r["platform_label"], r["before"], r["after"], r["change"], r["change_pct"])
        for r in table["rows"]
    ] == [
        ("Search", "Google Ads", "40000.00", "40000.00", "0.00", "0.0"),
        ("Social", "Meta", "30000.00", "24000.00", "-6000.00", "-20.0"),
        ("TikTok", "TikTok Ads", "0.00", "8000.00", "8000.00", None),
    ]
    assert table["totals"] == {
        "before": "70000.00",
        "after": "72000.00",
        "change": "2000.00",
        "change_pct": "2.9",
    }


def test_the_ticket_preview_gives_the_budget_table_as_rows_of_cells_with_their_formats():
    preview = ticket_diff_preview(plan_revise_summary(WINTER, changed(WINTER, _replan)))
    table = preview["budget_table"]
    assert table["rows"] == [
        ["Search", "Google Ads", "40000.00", "40000.00", "0.00", "0.0"],
        ["Social", "Meta", "30000.00", "24000.00", "-6000.00", "-20.0"],
        ["TikTok", "TikTok Ads", "0.00", "8000.00", "8000.00", None],
    ]
    assert table["totals"] == ["Total", "", "70000.00", "72000.00", "2000.00", "2.9"]
    # The ticket page writes each column as the version page does (config/formatting.py).
    assert table["formats"] == ["text", "text", "money", "money", "money_change", "percent_change"]
    assert preview["summary"] == plan_revise_summary(WINTER, changed(WINTER, _replan))["summary"]


def test_a_replan_names_the_new_channel_market_themes_and_messaging():
    result = plan_revise_summary(WINTER, changed(WINTER, _replan))
    assert result["summary"] == [
        "Social budget down 20% (€30,000 → €24,000) from 1 Jan.",
        "New channel: TikTok on TikTok Ads with €8,000.",
        "New markets: CH.",
        "New creative themes: new year reset.",
        "Creative themes retired: gift guide.",
        "Messaging is updated (see the new wording).",
        "Total budget up 2.9% (€70,000 → €72,000).",
    ]
    assert result["kpi_impact"] == [
        "More budget should bring more conversions; the cost per result may rise a little as "
        "spend scales.",
        "New channels and markets start without history: expect a learning period of about two "
        "weeks before they perform at target.",
        "New creative and messaging need a few days to learn; early CTR may swing.",
    ]


def test_an_objective_change_says_results_are_measured_differently():
    leads = changed(
        WINTER, lambda p: p.update(objective="leads", primary_kpi="cpl", kpi_targets={"cpl": 25})
    )
    result = plan_revise_summary(leads, WINTER)
    assert result["summary"][:4] == [
        "Objective changes from leads to purchases.",
        "Primary KPI changes from CPL to CPA.",
        "New CPA target: €40.",
        "The CPL target of €25 is dropped.",
    ]
    assert (
        "Results are now measured in CPA towards purchases: compare with earlier reports with care."
        in result["kpi_impact"]
    )


def test_moved_flights_and_new_dates_are_described():
    def move(plan):
        search = channel(plan, "search")
        search["flights"][1]["start"] = "2026-12-05"
        search["flights"][2]["end"] = "2027-02-28"
        plan["end"] = "2027-02-28"

    result = plan_revise_summary(WINTER, changed(WINTER, move))
    assert result["summary"] == [
        "Search flight of 1 Dec–31 Dec now runs 5 Dec–31 Dec (€15,000).",
        "Search flight of 1 Jan–31 Jan now runs 1 Jan–28 Feb (€10,000).",
        "Plan dates change; end 31 Jan → 28 Feb.",
        "Total budget unchanged at €70,000.",
    ]
    assert result["kpi_impact"] == ["No change in expected results."]


def test_a_budget_shift_between_channels_names_the_winner():
    def shift(plan):
        channel(plan, "search")["budget"] = 45000
        channel(plan, "search")["flights"][1]["budget"] = 20000
        channel(plan, "social")["budget"] = 25000
        channel(plan, "social")["flights"][1]["budget"] = 7000

    result = plan_revise_summary(WINTER, changed(WINTER, shift))
    assert result["summary"] == [
        "Search budget up 12.5% (€40,000 → €45,000) from 1 Dec.",
        "Social budget down 16.7% (€30,000 → €25,000) from 1 Dec.",
        "Total budget unchanged at €70,000.",
    ]
    assert result["kpi_impact"] == [
        "Same total, more weight on Search: results should follow the channels that have "
        "performed best."
    ]


def test_pausing_all_spend_says_results_stop():
    def zero(plan):
        for row in plan["channels"]:
            row["budget"] = 0
            for flight in row["flights"]:
                flight["budget"] = 0

    result = plan_revise_summary(WINTER, changed(WINTER, zero))
    assert result["summary"][-1] == "Total budget down 100% (€70,000 → €0)."
    assert result["kpi_impact"] == ["All spend stops: no results until the plan resumes."]


def test_an_initial_plan_is_summarised_in_one_sentence():
    result = plan_revise_summary(None, WINTER)
    assert result["summary"] == [
        "New plan from 1 Nov 2026 to 31 Jan 2027: €70,000 across 2 channels, optimising for "
        "purchases (CPA)."
    ]
    assert result["kpi_impact"] == []
    assert result["budget_table"]["totals"]["after"] == "70000.00"


def test_the_preview_has_the_shape_tickets_show():
    result = plan_revise_summary(WINTER, changed(WINTER, search_up_12_pct))
    assert set(result) == {"summary", "changes", "budget_table", "kpi_impact", "raw"}
    assert result["raw"]["totals"]["change"] == "4800.00"


# --- Client words for the portal ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("always_on", "Always-on plan"),
        ("branding", "Branding plan"),
        ("event_spring_launch", "Spring launch plan"),
        ("event_black_friday", "Black friday plan"),
    ],
)
def test_a_track_reads_as_the_client_names_it(key, label):
    assert track_label(key) == label


@pytest.mark.parametrize(
    ("kind", "effective", "title"),
    [
        ("revise", "2026-12-01", "Always-on plan, December update"),
        ("replan", date(2027, 1, 15), "Always-on plan, January replan"),
        ("initial", "2026-11-01", "Always-on plan"),
        ("revise", None, "Always-on plan, update"),
    ],
)
def test_a_version_reads_as_the_client_knows_it(kind, effective, title):
    assert version_client_title(track_key="always_on", kind=kind, effective=effective) == title


def test_a_change_takes_effect_on_its_first_changed_flight():
    diff = plan_diff(
        parse_payload(winter_plan()), parse_payload(changed(winter_plan(), search_up_12_pct))
    )
    assert first_change_day(diff) == "2026-12-01"


@pytest.mark.parametrize(
    ("kind", "change", "words"),
    [
        ("revise", "4800.00", "Budget increase"),
        ("revise", "-100.00", "Plan update"),
        ("replan", "0.00", "Proposed replan"),
        ("event_draft", None, "New plan"),
    ],
)
def test_what_the_client_is_asked_about_a_version(kind, change, words):
    assert version_client_kind(kind=kind, total_change=change) == words
