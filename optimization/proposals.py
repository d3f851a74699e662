"""The plan a recommendation proposes (pure: no database): the track's approved payload with the
signal's change written into it, as a draft vN+1 would carry it.

- drift and guardrail approvals: the live daily budgets written into the plan ("codify the new
  caps") — the flight running today and the later ones of each channel scale by live ÷ planned;
- KPI miss: the primary KPI's target set to what was achieved;
- structural block: the blocked change (a new channel with no budget yet, a new objective, a
  new geo) — a replan;
- seasonality: the calendar's flight written over the channel's flights in its dates.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from plans.schema import decimal_text, money_text

CENT = Decimal("0.01")


def _dates(flight: dict) -> tuple[date, date]:
    return date.fromisoformat(flight["start"]), date.fromisoformat(flight["end"])


def _days(flight: dict) -> int:
    start, end = _dates(flight)
    return (end - start).days + 1


def codify_daily_budgets(payload: dict, daily: dict[str, Decimal], *, on: date) -> dict:
    """`payload` with each channel in `daily` planned at that daily budget from `on` onwards:
    the rest of the flight running that day and every later flight scale; the days already
    spent (earlier flights, and the running flight's days before `on`) stay as planned."""
    proposed = copy.deepcopy(payload)
    for channel in proposed["channels"]:
        target = daily.get(channel["channel"])
        if target is None:
            continue
        current = next((f for f in channel["flights"] if _dates(f)[0] <= on <= _dates(f)[1]), None)
        if current is None:
            continue
        planned = Decimal(current["budget"]) / _days(current)
        if planned <= 0:
            continue
        ratio = target / planned
        change = Decimal("0")
        for flight in channel["flights"]:
            start, end = _dates(flight)
            if end < on:
                continue
            budget = Decimal(flight["budget"])
            spent_share = Decimal(max((on - start).days, 0)) / _days(flight)
            new = (budget * spent_share + budget * (1 - spent_share) * ratio).quantize(CENT)
            change += new - Decimal(flight["budget"])
            flight["budget"] = money_text(new)
        channel["budget"] = money_text(max(Decimal(channel["budget"]) + change, Decimal("0")))
    return proposed


def with_kpi_target(payload: dict, kpi: str, value: Decimal) -> dict:
    proposed = copy.deepcopy(payload)
    proposed.setdefault("kpi_targets", {})[kpi] = decimal_text(value.quantize(CENT))
    return proposed


def with_structural_change(payload: dict, field: str, value: object) -> dict:
    """A blocked structural change written into the plan: a replan for the planner to finish."""
    proposed = copy.deepcopy(payload)
    if field == "channel":
        name = str(value).strip().lower()
        if all(c["channel"] != name for c in proposed["channels"]):
            proposed["channels"].append(
                {"channel": name, "platform": name, "budget": "0.00", "flights": []}
            )
    elif field == "objective":
        proposed["objective"] = str(value).strip().lower()
    elif field == "geo":
        geos = {g.upper() for g in proposed["geos"]} | {str(value).strip().upper()}
        proposed["geos"] = sorted(geos)
    return proposed


def with_flight(payload: dict, *, channel: str, start: date, end: date, budget: Decimal) -> dict:
    """The channel's flights between `start` and `end` replaced by one flight of `budget` (the
    parts of flights outside those dates stay, pro rata); the channel's budget follows."""
    proposed = copy.deepcopy(payload)
    plan_start, plan_end = (
        date.fromisoformat(proposed["start"]),
        date.fromisoformat(proposed["end"]),
    )
    start, end = max(start, plan_start), min(end, plan_end)
    target = next((c for c in proposed["channels"] if c["channel"] == channel), None)
    if target is None or start > end:
        return proposed
    kept, removed = [], Decimal("0")
    for flight in target["flights"]:
        f_start, f_end = _dates(flight)
        amount = Decimal(flight["budget"])
        if f_end < start or f_start > end:
            kept.append(flight)
            continue
        daily = amount / _days(flight)
        remainder = Decimal("0")
        if f_start < start:
            days = (start - f_start).days
            part = (daily * days).quantize(CENT)
            kept.append(
                {
                    "start": flight["start"],
                    "end": str(date.fromordinal(start.toordinal() - 1)),
                    "budget": money_text(part),
                }
            )
            remainder += part
        if f_end > end:
            days = (f_end - end).days
            part = (daily * days).quantize(CENT)
            kept.append(
                {
                    "start": str(date.fromordinal(end.toordinal() + 1)),
                    "end": flight["end"],
                    "budget": money_text(part),
                }
            )
            remainder += part
        removed += amount - remainder
    kept.append({"start": str(start), "end": str(end), "budget": money_text(budget)})
    target["flights"] = sorted(kept, key=lambda f: f["start"])
    target["budget"] = money_text(max(Decimal(target["budget"]) - removed + budget, Decimal("0")))
    return proposed
