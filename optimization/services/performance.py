"""Performance ingest (POST /api/v1/tracks/{track}/performance): rows upserted by (track, date,
channel, source). GA4 is the primary source where several report the same day
(optimization/triggers.py reads it first)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from config.money import AmountInvalid, AmountRule, amount_clean
from config.text import text_problem
from config.transactions import within_transaction
from optimization.models import PerformanceRow
from plans.models import Track

MAX_ROWS = 5000
MAX_AMOUNT = Decimal("1e12")


class PerformanceError(DomainError):
    code = "invalid_performance"


def _rule(key: str) -> AmountRule:
    return AmountRule.of(PerformanceRow._meta.get_field(key), at_most=MAX_AMOUNT)


# Each figure checked against its column (config/money.py), within one domain bound.
AMOUNTS = {key: _rule(key) for key in ("spend", "conversions", "kpi_value")}


def _amount(row: dict, key: str, where: str, *, required: bool = True) -> Decimal | None:
    value = row.get(key)
    if value is None and not required:
        return None
    try:
        return amount_clean(value, AMOUNTS[key])
    except AmountInvalid as exc:
        raise PerformanceError(
            f"{where}.{key}: {exc}.", fields={f"{where}.{key}": [str(exc)]}
        ) from None


def _text(row: dict, key: str, where: str, max_length: int, *, required: bool = True) -> str:
    value = row.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise PerformanceError(
            f"{where}.{key}: a non-empty string.", fields={f"{where}.{key}": ["required"]}
        )
    value = value.strip().lower()
    problem = text_problem(value) or (
        f"at most {max_length} characters" if len(value) > max_length else None
    )
    if problem:
        raise PerformanceError(f"{where}.{key}: {problem}.", fields={f"{where}.{key}": [problem]})
    return value


def _clean(rows: Any) -> list[dict]:
    if not isinstance(rows, list) or not rows:
        raise PerformanceError("rows: a non-empty list.", fields={"rows": ["required"]})
    if len(rows) > MAX_ROWS:
        raise PerformanceError(f"rows: at most {MAX_ROWS} per call.", fields={"rows": ["too many"]})
    cleaned, seen = [], set()
    for index, row in enumerate(rows):
        where = f"rows[{index}]"
        if not isinstance(row, dict):
            raise PerformanceError(f"{where}: an object.", fields={where: ["must be an object"]})
        try:
            day = date.fromisoformat(str(row.get("date")))
        except ValueError:
            raise PerformanceError(
                f"{where}.date: a date as YYYY-MM-DD.", fields={f"{where}.date": ["YYYY-MM-DD"]}
            ) from None
        values = {
            "date": day,
            "channel": _text(row, "channel", where, 60),
            "source": _text(row, "source", where, 40),
            "spend": _amount(row, "spend", where),
            "conversions": _amount(row, "conversions", where),
            "kpi": _text(row, "kpi", where, 60, required=False),
            "kpi_value": _amount(row, "kpi_value", where, required=False),
        }
        key = (values["date"], values["channel"], values["source"])
        if key in seen:
            raise PerformanceError(
                f"{where}: {values['channel']} on {day} from {values['source']} is sent twice.",
                fields={where: ["duplicate"]},
            )
        seen.add(key)
        cleaned.append(values)
    return cleaned


@transaction.atomic(durable=True)
def performance_ingest(*, tenant, track_key: str, rows: Any, actor: Actor) -> int:
    """Upsert performance rows of one track; returns how many the call carried."""
    return performance_ingest_within(tenant=tenant, track_key=track_key, rows=rows, actor=actor)


@within_transaction
def performance_ingest_within(*, tenant, track_key: str, rows: Any, actor: Actor) -> int:
    """performance_ingest as a step of a bigger transaction (the demo's story)."""
    track = Track.objects.filter(tenant=tenant, key=track_key).first()
    if track is None:
        raise PerformanceError(
            f"This tenant has no track {track_key!r}.",
            code="unknown_track",
            fields={"track": ["no such track for this key's tenant"]},
        )
    cleaned = _clean(rows)
    PerformanceRow.objects.bulk_create(
        [PerformanceRow(tenant=tenant, track=track, **row) for row in cleaned],
        update_conflicts=True,
        unique_fields=["track", "date", "channel", "source"],
        update_fields=["spend", "conversions", "kpi", "kpi_value", "updated_at"],
    )
    days = sorted({row["date"] for row in cleaned})
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.PERFORMANCE_INGESTED,
        resource=("performance", track.key),
        payload=[{**row, "date": str(row["date"])} for row in cleaned],
        data={
            "track": track.key,
            "rows": len(cleaned),
            "from": days[0],
            "to": days[-1],
            "sources": sorted({row["source"] for row in cleaned}),
        },
    )
    return len(cleaned)
