"""Real-looking plan payloads for the plans and optimization tests (plans-core).

`winter_plan()` is acme's always-on winter plan: search on Google Ads and social on Meta, three
monthly flights each, €70,000 in total. `changed(plan, fn)` returns a deep copy changed by `fn`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable


def winter_plan() -> dict:
    return {
        "objective": "purchases",
        "primary_kpi": "cpa",
        "kpi_targets": {"cpa": 40, "roas": 4},
        "geos": ["DE", "AT"],
        "currency": "EUR",
        "start": "2026-11-01",
        "end": "2027-01-31",
        "channels": [
            {
                "channel": "search",
                "platform": "google_ads",
                "budget": 40000,
                "flights": [
                    {"start": "2026-11-01", "end": "2026-11-30", "budget": 15000},
                    {"start": "2026-12-01", "end": "2026-12-31", "budget": 15000},
                    {"start": "2027-01-01", "end": "2027-01-31", "budget": 10000},
                ],
            },
            {
                "channel": "social",
                "platform": "meta",
                "budget": 30000,
                "flights": [
                    {"start": "2026-11-01", "end": "2026-11-30", "budget": 10000},
                    {"start": "2026-12-01", "end": "2026-12-31", "budget": 12000},
                    {"start": "2027-01-01", "end": "2027-01-31", "budget": 8000},
                ],
            },
        ],
        "creative_themes": ["winter sale", "gift guide"],
        "messaging": "Warm up for less: the winter sale is on.",
    }


def changed(plan: dict, change: Callable[[dict], object]) -> dict:
    copied = copy.deepcopy(plan)
    change(copied)
    return copied


def channel(plan: dict, name: str) -> dict:
    return next(c for c in plan["channels"] if c["channel"] == name)


def search_up_12_pct(plan: dict) -> None:
    """The revise of the issue's story: search +12% (€40,000 → €44,800), in the December flight."""
    search = channel(plan, "search")
    search["budget"] = 44800
    search["flights"][1]["budget"] = 19800


def event_plan(slug: str = "black_friday") -> dict:
    return {
        "objective": "purchases",
        "primary_kpi": "roas",
        "kpi_targets": {"roas": 5},
        "geos": ["DE"],
        "currency": "EUR",
        "start": "2026-11-20",
        "end": "2026-11-30",
        "channels": [
            {
                "channel": "search",
                "platform": "google_ads",
                "budget": 12000,
                "flights": [{"start": "2026-11-24", "end": "2026-11-28", "budget": 12000}],
            }
        ],
        "creative_themes": [slug.replace("_", " ")],
        "messaging": "Our biggest deals of the year.",
    }


def branding_plan() -> dict:
    return {
        "objective": "awareness",
        "primary_kpi": "cpm",
        "kpi_targets": {"cpm": 6},
        "geos": ["DE"],
        "currency": "EUR",
        "start": "2026-12-01",
        "end": "2026-12-31",
        "channels": [
            {
                "channel": "video",
                "platform": "youtube",
                "budget": 20000,
                "flights": [{"start": "2026-12-01", "end": "2026-12-31", "budget": 20000}],
            }
        ],
        "creative_themes": ["brand film"],
        "messaging": "Acme: winter, well made.",
    }


def engagement_plan() -> dict:
    return {
        "objective": "engagement",
        "primary_kpi": "cpe",
        "kpi_targets": {"cpe": "0.15"},
        "geos": ["DE"],
        "currency": "EUR",
        "start": "2026-12-01",
        "end": "2026-12-14",
        "channels": [
            {
                "channel": "social",
                "platform": "meta",
                "budget": 5000,
                "flights": [{"start": "2026-12-01", "end": "2026-12-14", "budget": 5000}],
            }
        ],
        "creative_themes": ["advent countdown"],
        "messaging": "Open a door every day.",
    }
