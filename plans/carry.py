"""Carrying an outdated version forward (issue 16 item 1), as a pure three-way merge of payloads.

An outdated version was drafted on `base` (its parent); meanwhile `current` (another draft on the
same parent) was approved. Carrying it forward re-applies what the outdated version changed
against `base` onto `current`, one unit at a time — a top-level field, one KPI target, or one
channel as a whole (its budget and flights must fit together, so they move as one). A unit both
sides changed, to different values, is a collision: `current` keeps its value and the collision
is listed for the planner, who decides by editing the new draft.

No database: tested alone (tests/plans/test_carry.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# Top-level fields merged as one value each, and how the planner reads them.
FIELD_WORDS = {
    "objective": "objective",
    "primary_kpi": "primary KPI",
    "geos": "geos",
    "currency": "currency",
    "start": "plan start",
    "end": "plan end",
    "creative_themes": "creative themes",
    "messaging": "messaging",
}
_MISSING: Any = object()


@dataclass
class CarryResult:
    payload: dict
    # [{"what": "search budget and flights", "carried": …, "current": …}] (None: absent)
    collisions: list[dict] = field(default_factory=list)
    reapplied: list[str] = field(default_factory=list)  # what of the outdated version was kept


def _merge_value(what: str, base, carried, current, result: CarryResult):
    """The merged value of one unit (_MISSING: the unit is absent)."""
    if carried in (base, current):
        return current
    if current == base:
        result.reapplied.append(what)
        return carried
    result.collisions.append(
        {
            "what": what,
            "carried": None if carried is _MISSING else carried,
            "current": None if current is _MISSING else current,
        }
    )
    return current


def _by_name(channels: list[dict]) -> dict[str, dict]:
    return {c["channel"]: c for c in channels}


def carry_forward(*, base: dict | None, carried: dict, current: dict) -> CarryResult:
    """`current` with `carried`'s changes against `base` re-applied where they don't collide."""
    base = base or {}
    result = CarryResult(payload=copy.deepcopy(current))
    merged = result.payload
    for key, words in FIELD_WORDS.items():
        value = _merge_value(
            words,
            base.get(key, _MISSING),
            carried.get(key, _MISSING),
            current.get(key, _MISSING),
            result,
        )
        if value is _MISSING:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)

    targets = {}
    base_targets = base.get("kpi_targets", {})
    carried_targets = carried.get("kpi_targets", {})
    current_targets = current.get("kpi_targets", {})
    for kpi in sorted(set(base_targets) | set(carried_targets) | set(current_targets)):
        value = _merge_value(
            f"{kpi.upper()} target",
            base_targets.get(kpi, _MISSING),
            carried_targets.get(kpi, _MISSING),
            current_targets.get(kpi, _MISSING),
            result,
        )
        if value is not _MISSING:
            targets[kpi] = value
    merged["kpi_targets"] = targets

    base_channels = _by_name(base.get("channels", []))
    carried_channels = _by_name(carried.get("channels", []))
    current_channels = _by_name(current.get("channels", []))
    # Current's order first, then the channels only the carried version adds, in its order.
    names = list(current_channels) + [n for n in carried_channels if n not in current_channels]
    names += [n for n in base_channels if n not in names]
    channels = []
    for name in names:
        value = _merge_value(
            f"{name} budget and flights",
            base_channels.get(name, _MISSING),
            carried_channels.get(name, _MISSING),
            current_channels.get(name, _MISSING),
            result,
        )
        if value is not _MISSING:
            channels.append(copy.deepcopy(value))
    merged["channels"] = channels
    return result
