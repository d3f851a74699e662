"""The master budget envelope's rules (pure: no database).

A master plan holds the tenant's envelope for a period: a total and optional caps per track. A
version fits when all tracks' approved plans together, with this version in place of its track's,
stay within the total and its track stays within its cap — or within the proposed master-level
change the version carries, which the client must then approve.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from config.formatting import money
from config.money import AmountInvalid, AmountRule, amount_clean
from plans.errors import PlanError
from plans.models import MasterPlan, validate_track_key
from plans.schema import money_text

# The envelope's total is kept in numeric(14,2) (config/money.py).
ENVELOPE_AMOUNT = AmountRule.of(MasterPlan._meta.get_field("total_budget"))


@dataclass(frozen=True)
class EnvelopeCheck:
    master: MasterPlan | None
    track_total: Decimal
    tenant_total: Decimal
    problems: tuple[str, ...]

    @property
    def breaks(self) -> bool:
        return bool(self.problems)


def envelope_evaluate(
    *,
    master: MasterPlan | None,
    track_key: str,
    track_total: Decimal,
    other_tracks_total: Decimal,
    master_change: dict | None = None,
) -> EnvelopeCheck:
    """Would a track planning `track_total`, beside the other tracks' `other_tracks_total`, fit
    `master` (or the proposed `master_change`)?"""
    tenant_total = track_total + other_tracks_total
    if master is None:
        return EnvelopeCheck(None, track_total, track_total, ())
    total = Decimal(str(master_change["total_budget"])) if master_change else master.total_budget
    cap = proposed_caps(master, master_change).get(track_key)
    problems = []
    if tenant_total > total:
        problems.append(
            f"all tracks together would plan {money(tenant_total, master.currency)}, "
            f"above the master envelope of {money(total, master.currency)}"
        )
    if cap is not None and track_total > Decimal(str(cap)):
        problems.append(
            f"{track_key} would plan {money(track_total, master.currency)}, above its cap "
            f"of {money(cap, master.currency)}"
        )
    return EnvelopeCheck(master, track_total, tenant_total, tuple(problems))


def proposed_caps(master: MasterPlan, master_change: dict | None) -> dict[str, Any]:
    """The track caps once `master_change` is approved: the caps it names replace those of the
    same tracks, every other track keeps its cap (what approval applies, transitions.py)."""
    if not master_change:
        return dict(master.track_caps)
    return {**master.track_caps, **(master_change.get("track_caps") or {})}


def track_label(key: str) -> str:
    """A track in words, for a client: "Always-on", "Branding", "Black friday (special day)"."""
    if key.startswith("event_"):
        return key.removeprefix("event_").replace("_", " ").capitalize() + " (special day)"
    return key.replace("_", "-").capitalize() if key == "always_on" else key.capitalize()


def envelope_change_rows(master: MasterPlan, master_change: dict) -> list[dict]:
    """The proposed envelope beside today's, line by line: the total first, then each track cap
    the proposal names. `now` is None for a track that has no cap yet."""
    rows = [
        {
            "key": "",
            "label": "Total envelope",
            "now": money_text(master.total_budget),
            "proposed": master_change["total_budget"],
        }
    ]
    for key, cap in sorted((master_change.get("track_caps") or {}).items()):
        now = master.cap_for(key)
        rows.append(
            {
                "key": key,
                "label": f"{track_label(key)} cap",
                "now": money_text(now) if now is not None else None,
                "proposed": cap,
            }
        )
    for row in rows:
        row["changed"] = row["now"] is None or Decimal(row["now"]) != Decimal(row["proposed"])
    return rows


def envelope_change_sentence(master: MasterPlan, master_change: dict) -> str:
    """The proposal in one sentence a client reads: "Master budget envelope: total €100,000 →
    €120,000; Always-on cap €75,000 → €95,000." Only the lines that change are named."""
    parts = []
    for row in envelope_change_rows(master, master_change):
        if not row["changed"]:
            continue
        name = row["label"] if row["key"] else "total"
        proposed = money(row["proposed"], master.currency)
        if row["now"] is None:
            parts.append(f"{name} set to {proposed}")
        else:
            parts.append(f"{name} {money(row['now'], master.currency)} → {proposed}")
    return "Master budget envelope: " + "; ".join(parts or ["unchanged"]) + "."


def clean_master_change(master_change: Any) -> dict | None:
    """A proposed master-level change {total_budget, track_caps}, validated, amounts as money
    strings; PlanError when it is not one."""
    if master_change is None:
        return None
    if not isinstance(master_change, dict) or "total_budget" not in master_change:
        raise PlanError(
            "A master-level change is {total_budget, track_caps}.", code="invalid_master_change"
        )
    caps = master_change.get("track_caps") or {}
    try:
        if not isinstance(caps, dict):
            raise TypeError("track_caps must map a track to its cap")
        for key in caps:
            validate_track_key(key)
    except (ValueError, TypeError, ValidationError) as exc:
        raise PlanError(
            f"The master-level change has an invalid amount or track ({exc}).",
            code="invalid_master_change",
        ) from None
    # Caps follow the total's column: a cap is part of the same envelope.
    named = {"total_budget": master_change["total_budget"]}
    named.update({f"track_caps.{key}": cap for key, cap in caps.items()})
    amounts = {}
    for name, value in named.items():
        try:
            amounts[name] = amount_clean(value, ENVELOPE_AMOUNT)
        except AmountInvalid as exc:
            raise PlanError(
                f"Master envelope amounts must be between 0 and {ENVELOPE_AMOUNT.most:,}; "
                f"{name} is {value!r}.",
                code="invalid_master_change",
                fields={f"master_change.{name}": [str(exc)]},
            ) from None
    total = amounts.pop("total_budget")
    amounts = {name.removeprefix("track_caps."): amount for name, amount in amounts.items()}
    return {
        "total_budget": money_text(total),
        "track_caps": {key: money_text(amount) for key, amount in amounts.items()},
    }
