"""Structured diffs vN → vN+1 and against the live manifest: golden outputs (no database)."""

from datetime import date

from plans.diff import diff_is_empty, manifest_diff, plan_diff, planned_daily_budget
from plans.schema import parse_payload
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
    plan["channels"] = [c for c in plan["channels"] if c["channel"] != "social"]
    plan["geos"] = ["DE", "CH"]
    plan["kpi_targets"] = {"cpa": 38}
    plan["objective"], plan["primary_kpi"] = "purchases", "cpa"
    plan["creative_themes"] = ["winter sale", "new year reset"]
    plan["messaging"] = "Start the year well."


def test_the_diff_of_a_replan_lists_every_kind_of_change():
    diff = plan_diff(WINTER, changed(WINTER, _replan))
    assert diff["channels"] == {"added": ["tiktok"], "removed": ["social"]}
    assert diff["geos"] == {"added": ["CH"], "removed": ["AT"]}
    assert diff["kpi_targets"] == [
        {"kpi": "cpa", "before": "40", "after": "38", "change_pct": "-5.0"},
        {"kpi": "roas", "before": "4", "after": None, "change_pct": None},
    ]
    assert diff["budgets"] == [
        {
            "channel": "search",
            "platform": "google_ads",
            "status": "kept",
            "before": "40000.00",
            "after": "40000.00",
            "change": "0.00",
            "change_pct": "0.0",
        },
        {
            "channel": "social",
            "platform": "meta",
            "status": "removed",
            "before": "30000.00",
            "after": "0.00",
            "change": "-30000.00",
            "change_pct": "-100.0",
        },
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "status": "added",
            "before": "0.00",
            "after": "8000.00",
            "change": "8000.00",
            "change_pct": None,
        },
    ]
    assert diff["creative_themes"] == {"added": ["new year reset"], "removed": ["gift guide"]}
    assert diff["messaging"] == {
        "before": "Warm up for less: the winter sale is on.",
        "after": "Start the year well.",
    }
    assert diff["objective"] is None
    assert diff["totals"] == {
        "before": "70000.00",
        "after": "48000.00",
        "change": "-22000.00",
        "change_pct": "-31.4",
    }
    assert [f["channel"] for f in diff["flights"]] == ["social", "tiktok"]
    assert diff["flights"][1]["added"] == [
        {"start": "2026-12-01", "end": "2026-12-31", "budget": "8000.00"}
    ]
    assert len(diff["flights"][0]["removed"]) == 3


def test_a_budget_change_in_one_flight_is_reported_per_flight():
    diff = plan_diff(WINTER, changed(WINTER, search_up_12_pct))
    assert diff["flights"] == [
        {
            "channel": "search",
            "added": [],
            "removed": [],
            "moved": [],
            "changed": [
                {
                    "start": "2026-12-01",
                    "end": "2026-12-31",
                    "before": "15000.00",
                    "after": "19800.00",
                    "change": "4800.00",
                    "change_pct": "32.0",
                }
            ],
        }
    ]
    assert diff["budgets"][0]["change_pct"] == "12.0"


def test_the_objective_and_kpi_change_are_named():
    leads = changed(
        WINTER, lambda p: p.update(objective="leads", primary_kpi="cpl", kpi_targets={"cpl": 25})
    )
    diff = plan_diff(leads, WINTER)
    assert diff["objective"] == {"before": "leads", "after": "purchases"}
    assert diff["primary_kpi"] == {"before": "cpl", "after": "cpa"}


def test_identical_plans_have_an_empty_diff():
    assert diff_is_empty(plan_diff(WINTER, changed(WINTER, lambda p: None)))
    assert not diff_is_empty(plan_diff(WINTER, changed(WINTER, search_up_12_pct)))


def test_an_initial_plan_diffs_against_nothing():
    diff = plan_diff(None, WINTER)
    assert diff["channels"]["added"] == ["search", "social"]
    assert diff["totals"]["before"] == "0.00"


# --- The live manifest --------------------------------------------------------------------------

DEC_5 = date(2026, 12, 5)


def _entry(channel_name, entity_id, daily_budget, status="active"):
    return {
        "platform": "google_ads" if channel_name == "search" else "meta",
        "entity_id": entity_id,
        "channel": channel_name,
        "plan_version": 1,
        "state": {"daily_budget": daily_budget, "status": status},
    }


def test_the_planned_daily_budget_is_the_flight_budget_over_its_days():
    plan = parse_payload(WINTER)
    assert str(planned_daily_budget(plan, "search", DEC_5)) == "483.87"  # 15,000 / 31
    assert str(planned_daily_budget(plan, "search", date(2027, 2, 1))) == "0"


def test_optimizations_already_live_count_as_applied_and_the_rest_remains():
    revised = changed(WINTER, search_up_12_pct)  # December search: 19,800 / 31 = 638.71 a day
    entries = [
        _entry("search", "cmp-1", "400.00"),
        _entry("search", "cmp-2", "238.71"),  # the optimizer already moved search to 638.71
        _entry("social", "adset-9", "300.00"),  # plan says 12,000 / 31 = 387.10
        _entry("social", "adset-10", "50.00", status="paused"),
    ]
    result = manifest_diff(previous=WINTER, proposed=revised, entries=entries, on=DEC_5)
    assert result["applied"] == [
        {"channel": "search", "field": "daily_budget", "planned_before": "483.87", "live": "638.71"}
    ]
    assert result["remaining"] == [
        {
            "channel": "social",
            "action": "set_daily_budget",
            "field": "daily_budget",
            "live": "300.00",
            "target": "387.10",
            "entity_ids": ["adset-10", "adset-9"],
        }
    ]
    assert result["aligned"] is False
    assert result["as_of"] == "2026-12-05"


def test_a_new_channel_needs_a_launch_and_a_dropped_one_a_pause():
    def swap(plan):
        plan["channels"] = [c for c in plan["channels"] if c["channel"] != "social"]
        plan["channels"].append(
            {
                "channel": "tiktok",
                "platform": "tiktok_ads",
                "budget": 3100,
                "flights": [{"start": "2026-12-01", "end": "2026-12-31", "budget": 3100}],
            }
        )

    entries = [_entry("search", "cmp-1", "483.87"), _entry("social", "adset-9", "387.10")]
    result = manifest_diff(
        previous=WINTER, proposed=changed(WINTER, swap), entries=entries, on=DEC_5
    )
    assert [(r["channel"], r["action"], r["target"]) for r in result["remaining"]] == [
        ("tiktok", "launch", "100.00"),
        ("social", "pause", "0.00"),
    ]
    assert result["applied"] == []


def test_a_live_manifest_that_matches_the_plan_is_aligned():
    entries = [_entry("search", "cmp-1", "483.50"), _entry("social", "adset-9", "387.10")]
    result = manifest_diff(previous=None, proposed=WINTER, entries=entries, on=DEC_5)
    assert result["aligned"] is True
    assert result["remaining"] == []
    assert channel(WINTER, "search")["budget"] == 40000  # inputs are not mutated


# --- Across the version's flights ----------------------------------------------------------------


def _with_tiktok_from(start: str, end: str = "2026-12-31", budget: int = 1700):
    def add(plan):
        plan["channels"].append(
            {
                "channel": "tiktok",
                "platform": "tiktok_ads",
                "budget": budget,
                "flights": [{"start": start, "end": end, "budget": budget}],
            }
        )

    return add


ALIGNED_DEC_5 = [_entry("search", "cmp-1", "483.87"), _entry("social", "adset-9", "387.10")]


def test_a_channel_whose_flight_starts_later_is_to_launch_not_aligned():
    later = changed(WINTER, _with_tiktok_from("2026-12-15"))  # 1,700 over 17 days: 100 a day

    result = manifest_diff(previous=WINTER, proposed=later, entries=ALIGNED_DEC_5, on=DEC_5)

    tiktok = next(row for row in result["channels"] if row["channel"] == "tiktok")
    assert (tiktok["state"], tiktok["starts"], tiktok["target"]) == (
        "to_launch",
        "2026-12-15",
        "0.00",
    )
    assert tiktok["next"] == {"on": "2026-12-15", "daily": "100.00"}
    assert result["remaining"] == []  # nothing to do on 5 Dec itself
    assert result["to_launch"] == ["tiktok"]
    assert result["aligned"] is False
    assert {
        "channel": "tiktok",
        "on": "2026-12-15",
        "action": "launch",
        "field": "daily_budget",
        "before": "0.00",
        "target": "100.00",
    } in result["upcoming"]


def test_later_flights_are_listed_as_the_schedule_execution_follows():
    result = manifest_diff(previous=None, proposed=WINTER, entries=ALIGNED_DEC_5, on=DEC_5)

    assert [row["state"] for row in result["channels"]] == ["aligned", "aligned"]
    assert result["aligned"] is True
    # January: search 10,000 / 31 and social 8,000 / 31 a day; the plan's end is no change.
    assert [
        (c["on"], c["channel"], c["action"], c["before"], c["target"]) for c in result["upcoming"]
    ] == [
        ("2027-01-01", "search", "set_daily_budget", "483.87", "322.58"),
        ("2027-01-01", "social", "set_daily_budget", "387.10", "258.06"),
    ]


def test_a_gap_between_flights_is_a_pause_then_a_launch():
    def gap(plan):
        channel(plan, "search")["flights"] = [
            {"start": "2026-12-01", "end": "2026-12-10", "budget": 5000},
            {"start": "2026-12-20", "end": "2026-12-29", "budget": 3000},
        ]

    result = manifest_diff(
        previous=None, proposed=changed(WINTER, gap), entries=ALIGNED_DEC_5, on=DEC_5
    )

    search = [
        (c["on"], c["action"], c["target"]) for c in result["upcoming"] if c["channel"] == "search"
    ]
    assert search == [("2026-12-11", "pause", "0.00"), ("2026-12-20", "launch", "300.00")]


def test_a_channel_after_its_last_flight_or_without_flights_is_not_to_launch():
    def reserve(plan):
        plan["channels"].append(
            {"channel": "display", "platform": "dv360", "budget": 1000, "flights": []}
        )

    result = manifest_diff(
        previous=None, proposed=changed(WINTER, reserve), entries=[], on=date(2027, 2, 5)
    )

    assert [(row["channel"], row["state"]) for row in result["channels"]] == [
        ("search", "ended"),
        ("social", "ended"),
        ("display", "unscheduled"),
    ]
    assert result["upcoming"] == [] and result["aligned"] is True


def test_a_channel_live_before_its_flight_starts_is_paused_now_and_launched_later():
    later = changed(WINTER, _with_tiktok_from("2026-12-15"))
    entries = [*ALIGNED_DEC_5, {**_entry("social", "tt-1", "50.00"), "channel": "tiktok"}]

    result = manifest_diff(previous=WINTER, proposed=later, entries=entries, on=DEC_5)

    tiktok = next(row for row in result["channels"] if row["channel"] == "tiktok")
    assert (tiktok["state"], tiktok["starts"]) == ("to_align", "2026-12-15")
    assert [(r["channel"], r["action"]) for r in result["remaining"]] == [("tiktok", "pause")]
    assert result["to_launch"] == []
