"""The guardrails of a change set (pure: no database).

docs/rules.md "Execution and optimization": a change set applies by itself when every channel it
touches moves by at most `auto_approve_optimization_under_pct` of that channel's current live
daily budget **and** the channel's cumulative drift (optimization/drift.py: the net applied
daily-budget change since the approval of the last version that changed the channel, within the
rolling window), plus this move, as a % of the version's planned daily
budget for the channel — stays within `drift_pct`. Beyond either bound it waits for an A3; an
entity's first `status → active` waits for an A2 when the tenant asks for it; a structural change
(channel, objective, geo) is never an optimization: it is blocked.

Both bounds are inclusive: exactly 10% passes, 10.01% does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from config.formatting import money, percent
from optimization.models import DAILY_BUDGET, STATUS, STRUCTURAL_FIELDS, ChangePath

HUNDRED = Decimal("100")
STRUCTURAL_PATHS = {
    "channel": ChangePath.REPLAN,
    "objective": ChangePath.REPLAN,
    "geo": ChangePath.REPLAN,
}


@dataclass(frozen=True)
class ProposedItem:
    entity_id: str
    channel: str
    field: str
    before: object
    after: object
    first_launch: bool = False  # status → active of an entity that has never been live

    @classmethod
    def of(cls, item, *, after=..., first_launch: bool = False) -> ProposedItem:
        """A recorded change-set item (entity_id, channel, field, before, after) as proposed,
        with the value `after` it would now move to (its own when not given)."""
        return cls(
            item.entity_id,
            item.channel,
            item.field,
            item.before,
            item.after if after is ... else after,
            first_launch,
        )

    @property
    def budget_delta(self) -> Decimal:
        if self.field != DAILY_BUDGET:
            return Decimal("0")
        return Decimal(str(self.after)) - Decimal(str(self.before))


@dataclass(frozen=True)
class ChannelCheck:
    channel: str
    live_daily_budget: Decimal
    delta: Decimal
    move_pct: Decimal | None  # None: the channel spends nothing today, any rise is unbounded
    planned_daily_budget: Decimal | None  # None: the approved plan has no flight today
    drift_before: Decimal
    drift_pct_after: Decimal | None
    move_ok: bool
    drift_ok: bool

    @property
    def ok(self) -> bool:
        return self.move_ok and self.drift_ok

    def as_json(self) -> dict:
        return {
            "channel": self.channel,
            "live_daily_budget": str(self.live_daily_budget),
            "delta": str(self.delta),
            "move_pct": _text(self.move_pct),
            "planned_daily_budget": _text(self.planned_daily_budget),
            "drift_before": str(self.drift_before),
            "drift_pct_after": _text(self.drift_pct_after),
            "move_ok": self.move_ok,
            "drift_ok": self.drift_ok,
        }


@dataclass(frozen=True)
class GuardrailVerdict:
    status: str  # applied | pending_approval | blocked (ChangeSetStatus values)
    path: str
    reason: str
    channels: tuple[ChannelCheck, ...] = ()
    needs_a3: bool = False
    first_launches: tuple[str, ...] = ()
    structural: tuple[str, ...] = ()
    budget_increase_pct: Decimal | None = None
    notes: tuple[str, ...] = field(default=())
    optimization_pct: Decimal | None = None  # the bounds it was checked against
    drift_pct: Decimal | None = None
    # Why the tenant's compliance profile sends it to review (A7); set by the change-set submit.
    compliance: tuple[str, ...] = ()

    @property
    def needs_a2(self) -> bool:
        return bool(self.first_launches)

    @property
    def needs_a7(self) -> bool:
        return bool(self.compliance)

    def guardrails_json(self) -> dict:
        return {
            "channels": [check.as_json() for check in self.channels],
            "first_launches": list(self.first_launches),
            "structural": list(self.structural),
            "budget_increase_pct": _text(self.budget_increase_pct),
            "optimization_pct": _text(self.optimization_pct),
            "drift_pct": _text(self.drift_pct),
            "compliance": list(self.compliance),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else (part / whole * HUNDRED).quantize(Decimal("0.01"))


def check_channel(
    *,
    channel: str,
    delta: Decimal,
    live_daily_budget: Decimal,
    planned_daily_budget: Decimal | None,
    drift_before: Decimal,
    optimization_pct: Decimal,
    drift_pct: Decimal,
) -> ChannelCheck:
    """One channel's move against both bounds."""
    move_pct = _pct(abs(delta), live_daily_budget) if delta else Decimal("0")
    move_ok = delta == 0 or (move_pct is not None and move_pct <= optimization_pct)
    drift_after = None
    if planned_daily_budget:
        drift_after = _pct(drift_before + delta, planned_daily_budget)
    # A budget move on a channel with no planned daily budget today can't be measured against
    # the plan: a person looks. A change that moves no budget, or moves the channel back towards
    # its plan (a rollback of a drift, say), can't push it further away.
    drift_now = _pct(drift_before, planned_daily_budget) if planned_daily_budget else None
    drift_ok = (
        delta == 0
        or (drift_after is not None and abs(drift_after) <= drift_pct)
        or (drift_after is not None and drift_now is not None and abs(drift_after) < abs(drift_now))
    )
    return ChannelCheck(
        channel=channel,
        live_daily_budget=live_daily_budget,
        delta=delta,
        move_pct=move_pct,
        planned_daily_budget=planned_daily_budget,
        drift_before=drift_before,
        drift_pct_after=drift_after,
        move_ok=move_ok,
        drift_ok=drift_ok,
    )


def evaluate(
    *,
    items: Iterable[ProposedItem],
    live_daily_budget: Mapping[str, Decimal],
    planned_daily_budget: Mapping[str, Decimal | None],
    drift_before: Mapping[str, Decimal],
    optimization_pct: Decimal,
    drift_pct: Decimal,
    first_launch_requires_human: bool,
    currency: str = "",
) -> GuardrailVerdict:
    """The verdict on a proposed change set: apply, wait for approval (A3 and/or A2) or block."""
    # Long on purpose: the guardrail rules of the seed in the order they are checked, each a short
    # block adding its reason; the order decides the verdict.
    items = list(items)
    structural = tuple(
        f"{item.field} → {item.after}" for item in items if item.field in STRUCTURAL_FIELDS
    )
    if structural:
        fields = sorted({item.field for item in items if item.field in STRUCTURAL_FIELDS})
        return GuardrailVerdict(
            status="blocked",
            path=STRUCTURAL_PATHS[fields[0]],
            reason=(
                f"A change of {' and '.join(fields)} is structural, never an optimization: it "
                "needs a replan (blocked and counted)."
            ),
            structural=structural,
        )
    deltas: dict[str, Decimal] = {}
    for item in items:
        if item.field == DAILY_BUDGET:
            deltas[item.channel] = deltas.get(item.channel, Decimal("0")) + item.budget_delta
    checks = tuple(
        check_channel(
            channel=channel,
            delta=delta,
            live_daily_budget=live_daily_budget.get(channel, Decimal("0")),
            planned_daily_budget=planned_daily_budget.get(channel),
            drift_before=drift_before.get(channel, Decimal("0")),
            optimization_pct=optimization_pct,
            drift_pct=drift_pct,
        )
        for channel, delta in sorted(deltas.items())
    )
    first_launches = tuple(
        item.entity_id
        for item in items
        if first_launch_requires_human and item.field == STATUS and item.first_launch
    )
    rise = sum((c.delta for c in checks if c.delta > 0), Decimal("0"))
    touched_live = sum((c.live_daily_budget for c in checks), Decimal("0"))
    increase_pct = (_pct(rise, touched_live) if touched_live else None) if rise > 0 else None
    needs_a3 = any(not check.ok for check in checks)
    reasons = []
    for check in checks:
        if not check.move_ok:
            moved = percent(check.move_pct, 2) if check.move_pct is not None else "from nothing"
            reasons.append(
                f"{check.channel} moves {moved} of its live daily budget "
                f"({money(check.live_daily_budget, currency)}), beyond the "
                f"{percent(optimization_pct, 2)} guardrail"
            )
        if not check.drift_ok:
            if check.drift_pct_after is None:
                reasons.append(f"{check.channel} has no planned daily budget today to drift from")
            else:
                reasons.append(
                    f"{check.channel} would drift {percent(check.drift_pct_after, 2)} from the "
                    f"approved plan, beyond {percent(drift_pct, 2)}"
                )
    if first_launches:
        reasons.append(f"first launch of {', '.join(first_launches)} needs a person (A2)")
    if not needs_a3 and not first_launches:
        return GuardrailVerdict(
            status="applied",
            path=ChangePath.OPTIMIZATION,
            reason="Within the guardrails: applied.",
            channels=checks,
            budget_increase_pct=increase_pct,
            optimization_pct=optimization_pct,
            drift_pct=drift_pct,
        )
    drifts = any(not check.drift_ok for check in checks)
    return GuardrailVerdict(
        status="pending_approval",
        path=ChangePath.REVISE if drifts else ChangePath.OPTIMIZATION,
        reason="Waits for approval: " + "; ".join(reasons) + ".",
        channels=checks,
        needs_a3=needs_a3,
        first_launches=first_launches,
        budget_increase_pct=increase_pct,
        optimization_pct=optimization_pct,
        drift_pct=drift_pct,
    )
