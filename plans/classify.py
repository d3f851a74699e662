"""Which path a change takes (pure): seed 000 "When to optimize vs revise vs replan".

`classify_change` compares a proposed payload with the track's current approved one and returns a
`Classification`: the path, a sentence saying why, and the draft kinds that agree with it.
Strongest rule first: a structural change (new channel, platform swap, objective or primary KPI,
new geo, currency) is a replan whatever else changed; then the revise rules; what is left is an
optimization.

How we read the seed's ambiguous rows (docs/rules.md is silent on them):
- "Engagement burst → engagement track revise or event draft": on an engagement track that has an
  approved version the path is revise, and an event_draft is accepted too (the burst filed as its
  own special day); a first engagement plan is an event_draft (a track_draft is accepted).
- "Pause all spend → optimization hold or plan revise with zero flight": a pause asked for as an
  operation (`pause=True`, nothing in the plan changes) is an optimization hold, no new version; a
  payload whose channels all go to zero is that same pause written into the plan: a revise.
- "New branding flight alongside always-on → new track + plan.track.draft": the first plan of any
  track other than always_on (and not an event) is a track_draft.
- "Special-day date or budget shift → revise on the event track (or new plan.event.draft)": on an
  event track every date or budget change is a revise (an event_draft is accepted too) — a special
  day is short, so even a small shift changes the plan rather than tuning it.
- A removed channel or a removed geo narrows the plan without a new market or channel: revise.
- Escalating is always allowed: a change whose path is revise may be filed as a replan (the heavier
  approval), never the other way round (a new channel filed as a revise contradicts the
  classification).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from plans.models import PlanKind
from plans.schema import PlanPayload, parse_payload


class ChangePath(StrEnum):
    OPTIMIZATION = "optimization"
    OPTIMIZATION_HOLD = "optimization_hold"
    INITIAL = "initial"
    REVISE = "revise"
    REPLAN = "replan"
    TRACK_DRAFT = "track_draft"
    EVENT_DRAFT = "event_draft"


# The draft kinds each path accepts unless a rule says otherwise (an optimization needs no version).
DEFAULT_KINDS: dict[ChangePath, tuple[str, ...]] = {
    ChangePath.OPTIMIZATION: (),
    ChangePath.OPTIMIZATION_HOLD: (),
    ChangePath.INITIAL: (PlanKind.INITIAL,),
    ChangePath.REVISE: (PlanKind.REVISE, PlanKind.REPLAN),
    ChangePath.REPLAN: (PlanKind.REPLAN,),
    ChangePath.TRACK_DRAFT: (PlanKind.TRACK_DRAFT,),
    ChangePath.EVENT_DRAFT: (PlanKind.EVENT_DRAFT,),
}

DEFAULT_OPTIMIZATION_PCT = Decimal("10")
DEFAULT_DRIFT_PCT = Decimal("15")


@dataclass(frozen=True)
class Classification:
    path: ChangePath
    reason: str
    accepted_kinds: tuple[str, ...] = field(default=())

    def accepts(self, kind: str) -> bool:
        return kind in self.accepted_kinds

    def contradiction(self, kind: str) -> str:
        """The sentence an API 422 or a form shows when `kind` disagrees with the classification."""
        if not self.accepted_kinds:
            return (
                f"A {kind} contradicts the classifier: this change is an {self.path.value}, "
                f"not a new plan version. {self.reason}"
            )
        expected = " or ".join(self.accepted_kinds)
        return (
            f"A {kind} contradicts the classifier, which says {self.path.value} "
            f"(file it as {expected}). {self.reason}"
        )


def _classification(
    path: ChangePath, reason: str, extra_kinds: tuple[str, ...] = ()
) -> Classification:
    kinds = DEFAULT_KINDS[path] + tuple(k for k in extra_kinds if k not in DEFAULT_KINDS[path])
    return Classification(path=path, reason=reason, accepted_kinds=kinds)


def track_family(track: str) -> str:
    """always_on | branding | engagement | event (for event_<slug>) | the key itself."""
    return "event" if track.startswith("event_") else track


def change_pct(before: Decimal, after: Decimal) -> Decimal | None:
    """Percentage change, one decimal; None when there was nothing before (from zero)."""
    if before == 0:
        return None if after != 0 else Decimal("0")
    return ((after - before) / before * 100).quantize(Decimal("0.1"))


def _structural_reasons(current: PlanPayload, proposed: PlanPayload) -> list[str]:
    reasons = []
    new_channels = [c.channel for c in proposed.channels if current.channel(c.channel) is None]
    if new_channels:
        reasons.append(f"new channel {', '.join(new_channels)} is a structural change")
    for channel in proposed.channels:
        before = current.channel(channel.channel)
        if before is not None and before.platform != channel.platform:
            reasons.append(
                f"{channel.channel} moves from {before.platform} to {channel.platform}, "
                "a structural change"
            )
    if proposed.objective != current.objective:
        reasons.append(f"the objective changes ({current.objective} → {proposed.objective})")
    if proposed.primary_kpi != current.primary_kpi:
        reasons.append(f"the primary KPI changes ({current.primary_kpi} → {proposed.primary_kpi})")
    new_geos = sorted(set(proposed.geos) - set(current.geos))
    if new_geos:
        reasons.append(f"new geo or market {', '.join(new_geos)}")
    if proposed.currency != current.currency:
        reasons.append(f"the currency changes ({current.currency} → {proposed.currency})")
    return reasons


def _flight_dates(payload: PlanPayload, channel: str) -> list[tuple]:
    found = payload.channel(channel)
    return sorted((f.start, f.end) for f in found.flights) if found else []


def _flight_budgets(payload: PlanPayload, channel: str) -> dict[tuple, Decimal]:
    found = payload.channel(channel)
    return {(f.start, f.end): f.budget for f in found.flights} if found else {}


def _largest_budget_move(current: PlanPayload, proposed: PlanPayload) -> tuple[str, Decimal] | None:
    """(label, |%|) of the channel or flight budget that moves most; None when nothing moves."""
    largest: tuple[str, Decimal] | None = None
    for channel in proposed.channels:
        before = current.channel(channel.channel)
        if before is None:
            continue
        moves = [(channel.channel, before.budget, channel.budget)]
        before_flights = _flight_budgets(current, channel.channel)
        moves += [
            (
                f"the {channel.channel} flight of {f.start.day} {f.start:%b}",
                before_flights[(f.start, f.end)],
                f.budget,
            )
            for f in channel.flights
            if (f.start, f.end) in before_flights
        ]
        for label, old, new in moves:
            if old == new:
                continue
            pct = change_pct(old, new)
            size = Decimal("Infinity") if pct is None else abs(pct)
            if largest is None or size > largest[1]:
                largest = (label, size)
    return largest


def classify_change(
    *,
    track: str,
    current: dict | PlanPayload | None,
    proposed: dict | PlanPayload | None = None,
    pause: bool = False,
    drift_pct_by_channel: dict[str, Decimal] | None = None,
    optimization_pct: Decimal = DEFAULT_OPTIMIZATION_PCT,
    drift_pct: Decimal = DEFAULT_DRIFT_PCT,
) -> Classification:
    """The path of a change to `track`, from its current approved payload to `proposed`.

    `pause` is a request to stop all spend without touching the plan; `drift_pct_by_channel` is
    the cumulative live budget drift per channel vs the approved plan (rolling window), as the
    revise-trigger scan measures it.
    """
    # Long on purpose: the seed's decision table read top to bottom, one rule per block in the
    # order the spec gives them; split into helpers, the order that decides the path would be
    # spread over several functions.
    family = track_family(track)
    if current is None:
        if family == "event":
            return _classification(
                ChangePath.EVENT_DRAFT, f"{track} has no approved plan: a new special-day plan."
            )
        if family == "engagement":
            return _classification(
                ChangePath.EVENT_DRAFT,
                "An engagement burst with no engagement plan yet: an event draft "
                "(or a new engagement track).",
                extra_kinds=(PlanKind.TRACK_DRAFT,),
            )
        if family == "always_on":
            return _classification(
                ChangePath.INITIAL, "always_on has no approved plan: an initial plan."
            )
        return _classification(
            ChangePath.TRACK_DRAFT,
            f"A new {track} plan alongside the running tracks: a new track with its own draft.",
        )

    current = parse_payload(current)
    if pause:
        return _classification(
            ChangePath.OPTIMIZATION_HOLD,
            "Pausing all spend without changing the plan is an optimization hold; write it into "
            "the plan as a revise with zero flights if it is meant to last.",
        )
    if proposed is None:
        raise ValueError("classify_change needs a proposed payload unless pause=True")
    proposed = parse_payload(proposed)

    structural = _structural_reasons(current, proposed)
    if structural:
        return _classification(ChangePath.REPLAN, f"Full replan: {'; '.join(structural)}.")

    event_kinds = (PlanKind.EVENT_DRAFT,) if family == "event" else ()
    engagement_kinds = (PlanKind.EVENT_DRAFT,) if family == "engagement" else ()
    extra = event_kinds + engagement_kinds
    if current.total_budget > 0 and proposed.total_budget == 0:
        return _classification(
            ChangePath.REVISE,
            "All spend goes to zero: a plan revise with zero flights (an optimization hold "
            "pauses spend without a new version).",
            extra,
        )

    revise_reasons = []
    removed = [c.channel for c in current.channels if proposed.channel(c.channel) is None]
    if removed:
        revise_reasons.append(f"channel mix changes ({', '.join(removed)} removed)")
    dropped_geos = sorted(set(current.geos) - set(proposed.geos))
    if dropped_geos:
        revise_reasons.append(f"geo {', '.join(dropped_geos)} dropped")
    before_targets, after_targets = current.kpi_targets, proposed.kpi_targets
    target_changes = [
        f"{kpi} {_kpi_text(before_targets.get(kpi))} → {_kpi_text(after_targets.get(kpi))}"
        for kpi in sorted(set(current.kpi_targets) | set(proposed.kpi_targets))
        if current.kpi_targets.get(kpi) != proposed.kpi_targets.get(kpi)
    ]
    if target_changes:
        revise_reasons.append(
            f"KPI target adjustment with the same objective ({', '.join(target_changes)})"
        )
    dates_moved = (current.start, current.end) != (proposed.start, proposed.end) or any(
        _flight_dates(current, c.channel) != _flight_dates(proposed, c.channel)
        for c in proposed.channels
    )
    if dates_moved:
        if family == "event":
            revise_reasons.append("special-day dates shift on the event track")
        else:
            revise_reasons.append("seasonal flight update with the same channels")
    if proposed.creative_themes != current.creative_themes:
        revise_reasons.append("creative themes change")
    if proposed.messaging != current.messaging:
        revise_reasons.append("messaging changes")

    move = _largest_budget_move(current, proposed)
    if move is not None:
        label, size = move
        size_text = "from zero" if size.is_infinite() else f"{size}%"
        if family == "event":
            revise_reasons.append(f"special-day budget shift ({label} {size_text})")
        elif size > optimization_pct:
            revise_reasons.append(
                f"{label} budget moves {size_text}, beyond the ±{optimization_pct}% an "
                "optimization may move"
            )

    drifted = sorted(
        (channel, pct)
        for channel, pct in (drift_pct_by_channel or {}).items()
        if abs(pct) > drift_pct
    )
    if drifted:
        revise_reasons.append(
            "cumulative drift "
            + ", ".join(f"{channel} {abs(pct)}%" for channel, pct in drifted)
            + f" vs the approved plan exceeds {drift_pct}%"
        )

    if revise_reasons:
        prefix = f"Plan revise on {track}" if family in ("event", "engagement") else "Plan revise"
        return _classification(ChangePath.REVISE, f"{prefix}: {'; '.join(revise_reasons)}.", extra)

    if move is not None:
        label, size = move
        return _classification(
            ChangePath.OPTIMIZATION,
            f"Optimization only: the largest budget move ({label} {size}%) stays within "
            f"±{optimization_pct}% and the structure is unchanged.",
        )
    return _classification(
        ChangePath.OPTIMIZATION,
        "Nothing differs from the approved version: no new plan version is needed.",
    )


def _kpi_text(value: Decimal | None) -> str:
    return "none" if value is None else format(value.normalize(), "f")
