"""Properties (issue 20 item 5), checked by hypothesis on generated inputs: the classifier, the plan
and manifest diffs, business-day arithmetic, the guardrail check and the Cost Guard.

CI runs the short profile (few examples each); `HYPOTHESIS_PROFILE=full` runs many more (README.md
"Proving it": `make prove`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.sla import business_due_at, is_business_day
from optimization.guardrails import check_channel
from plans.classify import ChangePath, classify_change
from plans.diff import ALIGNED_WITHIN, diff_is_empty, manifest_diff, plan_diff

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("full", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MONTHS = [
    (date(2026, 11, 1), date(2026, 11, 30)),
    (date(2026, 12, 1), date(2026, 12, 31)),
    (date(2027, 1, 1), date(2027, 1, 31)),
]
CHANNELS = [("search", "google_ads"), ("social", "meta")]
whole_euros = st.integers(min_value=0, max_value=50_000)


@st.composite
def channels(draw, name: str, platform: str) -> dict:
    months = draw(st.lists(st.sampled_from(range(3)), min_size=1, max_size=3, unique=True))
    flights = [
        {"start": MONTHS[m][0].isoformat(), "end": MONTHS[m][1].isoformat(), "budget": b}
        for m, b in zip(
            sorted(months), draw(st.lists(whole_euros, min_size=3, max_size=3)), strict=False
        )
    ]
    reserve = draw(st.integers(min_value=0, max_value=5_000))
    total = sum(f["budget"] for f in flights) + reserve
    return {"channel": name, "platform": platform, "budget": total, "flights": flights}


@st.composite
def plans(draw) -> dict:
    chosen = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True))
    return {
        "objective": "purchases",
        "primary_kpi": "cpa",
        "kpi_targets": {"cpa": draw(st.integers(min_value=1, max_value=200))},
        "geos": draw(st.lists(st.sampled_from(["DE", "AT", "CH"]), min_size=1, unique=True)),
        "currency": "EUR",
        "start": "2026-11-01",
        "end": "2027-01-31",
        "channels": [draw(channels(name, platform)) for name, platform in chosen],
        "creative_themes": draw(st.lists(st.sampled_from(["winter", "gifts"]), unique=True)),
        "messaging": "Warm up for less.",
    }


# --- The plan diff and the classifier -----------------------------------------------------------
@given(plans())
def test_a_plans_diff_with_itself_is_empty_and_the_classifier_sees_nothing_to_approve(plan):
    assert diff_is_empty(plan_diff(plan, plan))
    assert classify_change(track="always_on", current=plan, proposed=plan).path == (
        ChangePath.OPTIMIZATION
    )


@given(plans(), plans())
def test_two_plans_diff_empty_only_when_they_are_the_same_plan(before, after):
    diff = plan_diff(before, after)
    same = json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)
    if same:
        assert diff_is_empty(diff)
    # The totals the diff names are the plans' own.
    assert Decimal(diff["totals"]["after"]) == sum(Decimal(c["budget"]) for c in after["channels"])


@given(plans(), st.sampled_from(["NL", "FR", "PL"]))
def test_a_new_geo_is_always_a_full_replan(plan, geo):
    proposed = {**plan, "geos": [*plan["geos"], geo]}
    assert classify_change(track="always_on", current=plan, proposed=proposed).path == (
        ChangePath.REPLAN
    )


# --- Applying the manifest diff reproduces the target -------------------------------------------
@st.composite
def live_entries(draw) -> list[dict]:
    rows = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        rows.append(
            {
                "entity_id": f"e{index}",
                "channel": draw(st.sampled_from(["search", "social", "display"])),
                "state": {
                    "status": draw(st.sampled_from(["active", "paused"])),
                    "daily_budget": str(draw(st.integers(min_value=0, max_value=3000))),
                },
            }
        )
    return rows


def _apply(entries: list[dict], remaining: list[dict]) -> list[dict]:
    """What Execution does with `remaining`: launch, pause or set each channel's daily budget."""
    out = [json.loads(json.dumps(e)) for e in entries]
    for step in remaining:
        mine = [e for e in out if e["channel"] == step["channel"]]
        if step["action"] == "launch":
            out.append(
                {
                    "entity_id": f"new-{step['channel']}",
                    "channel": step["channel"],
                    "state": {"status": "active", "daily_budget": step["target"]},
                }
            )
            continue
        for index, entry in enumerate(mine):
            if step["action"] == "pause" or index > 0:
                entry["state"]["status"] = "paused"
            else:
                entry["state"] = {"status": "active", "daily_budget": step["target"]}
    return out


@given(
    plans(), plans(), live_entries(), st.sampled_from([m[0] + timedelta(days=9) for m in MONTHS])
)
def test_applying_the_manifest_diff_leaves_nothing_remaining(before, after, entries, on):
    diff = manifest_diff(previous=before, proposed=after, entries=entries, on=on)
    applied = _apply(entries, diff["remaining"])
    again = manifest_diff(previous=before, proposed=after, entries=applied, on=on)
    assert again["remaining"] == []
    for row in again["channels"]:
        # Aligned means within ALIGNED_WITHIN (a cent's rounding of a flight's daily budget).
        assert abs(Decimal(row["live"]) - Decimal(row["target"])) < ALIGNED_WITHIN


# --- Business days --------------------------------------------------------------------------------
@given(
    opened_at=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=0, max_value=15),
    country=st.sampled_from(["DE", "US", "GB"]),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]),
    hours=st.sampled_from([(9, 17), (8, 18), (0, 24)]),
)
def test_a_due_time_is_working_time_later_and_grows_with_the_days(
    opened_at, days, country, zone, hours
):
    from zoneinfo import ZoneInfo

    start, end = hours
    due = business_due_at(
        opened_at=opened_at,
        business_days=days,
        country=country,
        time_zone=zone,
        start_hour=start,
        end_hour=end,
    )
    assert due >= opened_at
    later = business_due_at(
        opened_at=opened_at,
        business_days=days + 1,
        country=country,
        time_zone=zone,
        start_hour=start,
        end_hour=end,
    )
    assert later > due
    # Each business day adds one working day: never less than that, and at most the weekends
    # and holidays of a few weeks more.
    assert later - due >= timedelta(hours=end - start)
    if days:
        local = due.astimezone(ZoneInfo(zone))
        # It falls within working hours of a business day (the end hour itself included).
        moment = local - timedelta(microseconds=1)
        assert is_business_day(moment.date(), country)
        assert start <= moment.hour < end


# --- The guardrail check --------------------------------------------------------------------------
money = st.decimals(min_value=0, max_value=10_000, places=2)
pcts = st.decimals(min_value=0, max_value=50, places=2)


@given(
    delta=st.decimals(min_value=-5_000, max_value=5_000, places=2),
    live=money,
    planned=st.one_of(st.none(), money),
    drift_before=st.decimals(min_value=-5_000, max_value=5_000, places=2),
    optimization_pct=pcts,
    drift_pct=pcts,
)
def test_a_move_passes_the_guardrail_only_within_its_bounds(
    delta, live, planned, drift_before, optimization_pct, drift_pct
):
    check = check_channel(
        channel="search",
        delta=delta,
        live_daily_budget=live,
        planned_daily_budget=planned,
        drift_before=drift_before,
        optimization_pct=optimization_pct,
        drift_pct=drift_pct,
    )
    if delta == 0:
        assert check.move_ok and check.drift_ok
        return
    # A move is within the optimization bound only against a live budget it can be measured on.
    if check.move_ok:
        assert live > 0 and abs(delta) / live * 100 <= optimization_pct + Decimal("0.005")
    else:
        assert live == 0 or abs(delta) / live * 100 > optimization_pct - Decimal("0.005")
    # Drift: within the bound afterwards, or closer to the plan than before; never unmeasured.
    if check.drift_ok:
        assert planned
        after = abs(drift_before + delta) / planned * 100
        assert (
            after <= drift_pct + Decimal("0.005")
            or abs(drift_before + delta) < abs(drift_before) + Decimal("0.01") * planned
        )


# --- The Cost Guard -------------------------------------------------------------------------------
def _post(client, headers, path, body):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
@settings(
    max_examples=10 if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci" else 100,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    estimate=st.decimals(min_value=Decimal("0.10"), max_value=Decimal("5"), places=2),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["gate", "spend"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4"), places=2),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_the_cost_guard_never_lets_reservations_past_its_line(
    client, acme, acme_headers, estimate, steps
):
    from agents.models import AgentRun
    from tenants.models import TenantPolicy

    multiplier = TenantPolicy.objects.get(tenant=acme).trip_multiplier
    savepoint = transaction.atomic()
    savepoint._from_testcase = True  # the durable entry points may open theirs inside
    with savepoint:
        run = {
            "run_id": "run-prop",
            "main_task_id": "weekly-report",
            "agent": "reporting-agent",
            "model": "gpt-5-mini",
            "estimated_cost_usd": str(estimate),
        }
        assert _post(client, acme_headers, "/runs", run).status_code == 201
        line = estimate * multiplier
        for kind, amount in steps:
            if kind == "gate":
                body = {"kind": "llm_call", "expected_cost_usd": str(amount)}
                response = _post(client, acme_headers, "/runs/run-prop/gate", body)
                assert response.status_code in (200, 423), response.content
            else:
                body = {"input_tokens": 10, "output_tokens": 2, "cost_usd": str(amount)}
                response = _post(client, acme_headers, "/runs/run-prop/spend", body)
                assert response.status_code < 500, response.content
            row = AgentRun.objects.get(tenant=acme, run_id="run-prop")
            if kind == "gate" and response.status_code == 200:
                # A reservation is granted only while what is spent and held stays on the line.
                assert row.actual_cost_usd + row.reserved_usd <= line
        transaction.set_rollback(True)
