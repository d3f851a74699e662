"""Structured diffs (pure): vN → vN+1, and a plan version against the live execution manifest.

Both return plain JSON-ready dicts (money as two-decimal strings) so the same value is stored on a
version (`remaining_delta`), shown on pages, put in a ticket's diff preview and hashed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from plans.classify import change_pct
from plans.schema import Flight, PlanPayload, money_text, parse_payload

ZERO = Decimal("0")
# Live daily budgets within one currency unit of the plan count as aligned: platforms round
# budgets, and chasing cents would keep every track "misaligned" forever.
ALIGNED_WITHIN = Decimal("1")


class ChannelChange(StrEnum):
    """A budget row's `status`: the channel is new in vN+1, dropped from it, or in both."""

    ADDED = "added"
    REMOVED = "removed"
    KEPT = "kept"


class ManifestAction(StrEnum):
    """A remaining row's `action`: what Execution must do to align a channel with the plan."""

    LAUNCH = "launch"
    PAUSE = "pause"
    SET_DAILY_BUDGET = "set_daily_budget"


def _pct_text(pct: Decimal | None) -> str | None:
    return None if pct is None else str(pct)


def _flight_json(flight: Flight) -> dict:
    return {
        "start": flight.start.isoformat(),
        "end": flight.end.isoformat(),
        "budget": money_text(flight.budget),
    }


def _money_change(before: Decimal, after: Decimal) -> dict:
    return {
        "before": money_text(before),
        "after": money_text(after),
        "change": money_text(after - before),
        "change_pct": _pct_text(change_pct(before, after)),
    }


def _flight_changes(before: list[Flight], after: list[Flight]) -> dict:
    """Flights matched by their dates; an unmatched pair starting in the same month is 'moved'."""
    before_by_dates = {(f.start, f.end): f for f in before}
    after_by_dates = {(f.start, f.end): f for f in after}
    changed = [
        {
            "start": key[0].isoformat(),
            "end": key[1].isoformat(),
            **_money_change(before_by_dates[key].budget, flight.budget),
        }
        for key, flight in sorted(after_by_dates.items())
        if key in before_by_dates and before_by_dates[key].budget != flight.budget
    ]
    gone = sorted((f for k, f in before_by_dates.items() if k not in after_by_dates), key=_start)
    new = sorted((f for k, f in after_by_dates.items() if k not in before_by_dates), key=_start)
    moved = []
    for old in list(gone):
        partner = next(
            (f for f in new if (f.start.year, f.start.month) == (old.start.year, old.start.month)),
            None,
        )
        if partner is not None:
            moved.append({"before": _flight_json(old), "after": _flight_json(partner)})
            gone.remove(old)
            new.remove(partner)
    return {
        "added": [_flight_json(f) for f in new],
        "removed": [_flight_json(f) for f in gone],
        "moved": moved,
        "changed": changed,
    }


def _start(flight: Flight) -> date:
    return flight.start


def _change(before: Any, after: Any) -> dict | None:
    return None if before == after else {"before": before, "after": after}


def _listed(before: list, after: list) -> dict:
    return {
        "added": [x for x in after if x not in before],
        "removed": [x for x in before if x not in after],
    }


def plan_diff(before: dict | PlanPayload | None, after: dict | PlanPayload) -> dict:
    """vN → vN+1. `before` None (an initial plan) diffs against an empty plan."""
    # Long on purpose: one section per part of a plan (fields, KPI targets, channels and flights,
    # geos, themes), in the order the diff page shows them.
    new = parse_payload(after)
    old = parse_payload(before) if before is not None else None
    old_channels = old.channels if old else []
    channel_names = [c.channel for c in old_channels] + [
        c.channel for c in new.channels if old is None or old.channel(c.channel) is None
    ]

    budgets, flights = [], []
    for name in channel_names:
        was = old.channel(name) if old else None
        now = new.channel(name)
        was_budget = was.budget if was else ZERO
        now_budget = now.budget if now else ZERO
        budgets.append(
            {
                "channel": name,
                "platform": (now or was).platform,
                "status": (
                    ChannelChange.ADDED
                    if was is None
                    else ChannelChange.REMOVED
                    if now is None
                    else ChannelChange.KEPT
                ),
                **_money_change(was_budget, now_budget),
            }
        )
        flight_change = _flight_changes(was.flights if was else [], now.flights if now else [])
        if any(flight_change.values()):
            flights.append({"channel": name, **flight_change})

    old_targets = old.kpi_targets if old else {}
    kpi_targets = [
        {
            "kpi": kpi,
            "before": _kpi(old_targets.get(kpi)),
            "after": _kpi(new.kpi_targets.get(kpi)),
            "change_pct": _pct_text(
                change_pct(old_targets[kpi], new.kpi_targets[kpi])
                if kpi in old_targets and kpi in new.kpi_targets
                else None
            ),
        }
        for kpi in sorted(set(old_targets) | set(new.kpi_targets))
        if old_targets.get(kpi) != new.kpi_targets.get(kpi)
    ]
    old_total = old.total_budget if old else ZERO
    return {
        "objective": _change(old.objective if old else None, new.objective),
        "primary_kpi": _change(old.primary_kpi if old else None, new.primary_kpi),
        "currency": _change(old.currency if old else None, new.currency),
        "dates": {
            "start": _change(old.start.isoformat() if old else None, new.start.isoformat()),
            "end": _change(old.end.isoformat() if old else None, new.end.isoformat()),
        },
        "kpi_targets": kpi_targets,
        "geos": _listed(old.geos if old else [], new.geos),
        "channels": {
            "added": [b["channel"] for b in budgets if b["status"] == ChannelChange.ADDED],
            "removed": [b["channel"] for b in budgets if b["status"] == ChannelChange.REMOVED],
        },
        "budgets": budgets,
        "flights": flights,
        "creative_themes": _listed(old.creative_themes if old else [], new.creative_themes),
        "messaging": _change(old.messaging if old else None, new.messaging),
        "totals": _money_change(old_total, new.total_budget),
    }


def diff_is_empty(diff: dict) -> bool:
    return not (
        diff["objective"]
        or diff["primary_kpi"]
        or diff["currency"]
        or diff["dates"]["start"]
        or diff["dates"]["end"]
        or diff["kpi_targets"]
        or diff["geos"]["added"]
        or diff["geos"]["removed"]
        or diff["channels"]["added"]
        or diff["channels"]["removed"]
        or any(b["change"] != "0.00" for b in diff["budgets"])
        or diff["flights"]
        or diff["creative_themes"]["added"]
        or diff["creative_themes"]["removed"]
        or diff["messaging"]
    )


def _kpi(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


# --- The live manifest ------------------------------------------------------------------------


def planned_daily_budget(payload: PlanPayload, channel: str, on: date) -> Decimal:
    """The channel's budget for the flight covering `on` divided by that flight's days; zero when
    no flight runs that day or the channel is not in the plan (docs/rules.md "Revise triggers")."""
    found = payload.channel(channel)
    if found is None:
        return ZERO
    for flight in found.flights:
        if flight.start <= on <= flight.end:
            return (flight.budget / flight.days).quantize(Decimal("0.01"))
    return ZERO


def planned_budget_between(payload: PlanPayload, channel: str, first: date, last: date) -> Decimal:
    """The channel's planned budget for the days `first`..`last`: each flight's budget times
    the share of its days that fall in them, summed exactly and rounded once to the cent (seven
    days of €10,000 over 30 are €2,333.33, not seven rounded days' €2,333.31)."""
    found = payload.channel(channel)
    if found is None or last < first:
        return ZERO
    total = ZERO
    for flight in found.flights:
        days = (min(flight.end, last) - max(flight.start, first)).days + 1
        if days > 0:
            total += flight.budget * days / flight.days
    return total.quantize(Decimal("0.01"))


def _live_budget(entry: dict) -> Decimal:
    state = entry.get("state") or {}
    if str(state.get("status", "active")).lower() != "active":
        return ZERO
    try:
        return Decimal(str(state.get("daily_budget", "0")))
    except ArithmeticError:
        return ZERO


class ManifestState(StrEnum):
    """A channel row's `state`: how the live manifest stands against the version's flights."""

    ALIGNED = "aligned"  # live matches the plan on `as_of` (a flight runs, or none and none live)
    TO_ALIGN = "to_align"  # live differs from the plan on `as_of`: see `remaining`
    TO_LAUNCH = "to_launch"  # no flight on `as_of`, a later one starts on `starts`, nothing live
    ENDED = "ended"  # every flight ended before `as_of` and nothing is live
    UNSCHEDULED = "unscheduled"  # the channel has no flight at all (budget held back)


def _schedule(payload: PlanPayload, channel: str, on: date) -> list[tuple[date, Decimal]]:
    """Each later day on which the channel's planned daily budget changes, with the new budget:
    a flight starting, or a gap opening between two flights (the end of the last flight is the
    end of the plan, not a change Execution schedules)."""
    found = payload.channel(channel)
    if found is None:
        return []
    flights = sorted(found.flights, key=_start)
    days = {f.start for f in flights if f.start > on}
    days |= {f.end + timedelta(days=1) for f in flights[:-1] if f.end >= on}
    changes, before = [], planned_daily_budget(payload, channel, on)
    for day in sorted(days):
        daily = planned_daily_budget(payload, channel, day)
        if daily != before:
            changes.append((day, daily))
            before = daily
    return changes


def _scheduled_action(before: Decimal, after: Decimal) -> ManifestAction:
    if after == 0:
        return ManifestAction.PAUSE
    if before == 0:
        return ManifestAction.LAUNCH
    return ManifestAction.SET_DAILY_BUDGET


def _state(
    payload: PlanPayload, channel: str, on: date, *, aligned: bool, live: Decimal
) -> tuple[ManifestState, str | None]:
    """The row's state and, when no flight runs on `on`, the day the next one starts."""
    found = payload.channel(channel)
    flights = found.flights if found else []
    runs_now = any(f.start <= on <= f.end for f in flights)
    later = min((f.start for f in flights if f.start > on), default=None)
    starts = later.isoformat() if later and not runs_now else None
    if not aligned:
        return ManifestState.TO_ALIGN, starts
    if found is None or runs_now:
        return ManifestState.ALIGNED, starts
    if later is not None and live == 0:
        return ManifestState.TO_LAUNCH, starts
    if not flights:
        return ManifestState.UNSCHEDULED, starts
    return ManifestState.ENDED, starts


def manifest_diff(
    *,
    previous: dict | PlanPayload | None,
    proposed: dict | PlanPayload,
    entries: list[dict],
    on: date,
) -> dict:
    """What the live manifest already matches of `proposed` and what Execution must still align,
    on day `on` and over the version's later flights.

    Per channel, on day `on`: the planned daily budget of the previous and the proposed version,
    and the live daily budget (sum over the channel's active entities). A channel whose live
    budget already equals the new plan while the old plan said otherwise was changed by
    optimizations: "applied". Whatever does not match is "remaining": set the daily budget,
    launch (no live entity yet) or pause (the plan drops the channel or no flight runs).

    The version's flights go on after `on`: a channel whose first flight starts later is "to
    launch" on that day (its row says when), not aligned, and `upcoming` lists every later day on
    which a channel's planned daily budget changes (a flight starts, or a gap opens), so
    Execution sees the whole schedule it must follow. `aligned` is true only when nothing
    remains today and no channel still waits for its launch.
    """
    # Long on purpose: one pass per channel computing previous, proposed and live figures together;
    # splitting it would compute the channel's flights twice or pass a half-built row between
    # functions.
    new = parse_payload(proposed)
    old = parse_payload(previous) if previous is not None else None
    by_channel: dict[str, list[dict]] = {}
    for entry in entries:
        by_channel.setdefault(entry["channel"], []).append(entry)
    names = [c.channel for c in new.channels] + sorted(
        name for name in by_channel if new.channel(name) is None
    )

    channels, applied, remaining, upcoming = [], [], [], []
    for name in names:
        live_entries = by_channel.get(name, [])
        target = planned_daily_budget(new, name, on)
        planned_before = planned_daily_budget(old, name, on) if old else None
        live = sum((_live_budget(e) for e in live_entries), ZERO)
        aligned = abs(live - target) < ALIGNED_WITHIN
        entity_ids = sorted(str(e["entity_id"]) for e in live_entries)
        state, starts = _state(new, name, on, aligned=aligned, live=live)
        schedule = _schedule(new, name, on)
        row = {
            "channel": name,
            "planned_before": money_text(planned_before) if planned_before is not None else None,
            "target": money_text(target),
            "live": money_text(live),
            "delta": money_text(target - live),
            "aligned": aligned,
            "entity_ids": entity_ids,
            "state": state,
            "starts": starts,
            "next": (
                {"on": schedule[0][0].isoformat(), "daily": money_text(schedule[0][1])}
                if schedule
                else None
            ),
        }
        channels.append(row)
        before = target
        for day, daily in schedule:
            upcoming.append(
                {
                    "channel": name,
                    "on": day.isoformat(),
                    "action": _scheduled_action(before, daily),
                    "field": "daily_budget",
                    "before": money_text(before),
                    "target": money_text(daily),
                }
            )
            before = daily
        if aligned:
            if planned_before is not None and abs(planned_before - target) >= ALIGNED_WITHIN:
                applied.append(
                    {
                        "channel": name,
                        "field": "daily_budget",
                        "planned_before": money_text(planned_before),
                        "live": money_text(live),
                    }
                )
            continue
        if not live_entries:
            action = ManifestAction.LAUNCH
        elif target == 0:
            action = ManifestAction.PAUSE
        else:
            action = ManifestAction.SET_DAILY_BUDGET
        remaining.append(
            {
                "channel": name,
                "action": action,
                "field": "daily_budget",
                "live": money_text(live),
                "target": money_text(target),
                "entity_ids": entity_ids,
            }
        )
    to_launch = [row["channel"] for row in channels if row["state"] == ManifestState.TO_LAUNCH]
    return {
        "as_of": on.isoformat(),
        "channels": channels,
        "applied": applied,
        "remaining": remaining,
        "upcoming": sorted(upcoming, key=lambda change: change["on"]),
        "to_launch": to_launch,
        "aligned": not remaining and not to_launch,
    }
