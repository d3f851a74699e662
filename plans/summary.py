"""plan_revise_summary (pure): what changed, in words a client reads, plus the budget table.

Seed 000 "Client communication": a summary of changes in client-facing language, a before/after
budget table and the expected KPI impact — qualitative in Phase 0, derived only from the direction
of the changes (no forecast). The result is the ticket's diff preview:
{"summary", "changes", "budget_table", "kpi_impact", "raw"}.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from config.formatting import date_text, money, percent, percent_change
from plans.diff import ChannelChange, plan_diff
from plans.schema import PlanPayload, parse_payload

# KPIs where a lower target is the more demanding one (a cost per result).
COST_KPIS = {"cpa", "cpl", "cpc", "cpm", "cpv", "cpi", "cost_per_purchase"}
CHANNEL_LABELS = {
    "search": "Search",
    "social": "Social",
    "display": "Display",
    "video": "Video",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "meta": "Meta",
    "ctv": "CTV",
    "dooh": "DOOH",
}

PLATFORM_LABELS = {
    "google_ads": "Google Ads",
    "meta": "Meta",
    "tiktok_ads": "TikTok Ads",
    "youtube": "YouTube",
    "linkedin": "LinkedIn",
    "dv360": "Display & Video 360",
    "amazon_ads": "Amazon Ads",
    "microsoft_ads": "Microsoft Ads",
}


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name.replace("_", " ").capitalize())


# Tracks as a client names them (DESIGN.md "Plans, tracks and versions"); an event track is the
# special day's own plan ("event_spring_launch" → "Spring launch plan").
TRACK_LABELS = {
    "always_on": "Always-on plan",
    "branding": "Branding plan",
    "engagement": "Engagement plan",
}
EVENT_PREFIX = "event_"


def track_label(key: str) -> str:
    if key in TRACK_LABELS:
        return TRACK_LABELS[key]
    name = key.removeprefix(EVENT_PREFIX).replace("_", " ").strip()
    return f"{name[:1].upper()}{name[1:]} plan" if name else "Plan"


def first_change_day(diff: dict) -> str | None:
    """The earliest day a change takes effect: the first flight added, moved or changed."""
    starts = [
        start
        for entry in diff.get("flights", [])
        for start in (
            [c["start"] for c in entry["changed"]]
            + [f["start"] for f in entry["added"]]
            + [m["after"]["start"] for m in entry["moved"]]
        )
    ]
    return min(starts) if starts else None


def version_client_title(*, track_key: str, kind: str, effective: str | date | None) -> str:
    """A version as the client knows it: "Always-on plan, December update" (a revise),
    "Always-on plan, December replan", or the track's plan itself for a first plan."""
    track = track_label(track_key)
    if kind not in ("revise", "replan"):
        return track
    if isinstance(effective, str):
        effective = date.fromisoformat(effective)
    month = f"{effective:%B} " if effective else ""
    return f"{track}, {month}{'update' if kind == 'revise' else 'replan'}"


def version_client_kind(*, kind: str, total_change: str | None) -> str:
    """What the client is asked about a version, in their words."""
    if kind == "replan":
        return "Proposed replan"
    if kind == "revise":
        if total_change is not None and Decimal(total_change) > 0:
            return "Budget increase"
        return "Plan update"
    return "New plan"


def platform_label(name: str) -> str:
    return PLATFORM_LABELS.get(name, name.replace("_", " ").title())


def day_text(value: str | date) -> str:
    """A day inside a sentence that already says the year: "1 Dec"."""
    return date_text(value, year=False)


def _pct(pct: str | None) -> str:
    """The size of a change after "up" or "down": "12%"; from nothing, "from zero"."""
    return "from zero" if pct is None else percent(abs(Decimal(pct)))


def _kpi_label(kpi: str) -> str:
    return kpi.upper() if len(kpi) <= 4 else kpi.replace("_", " ")


def _kpi_value(kpi: str, value: str | None, currency: str) -> str:
    if value is None:
        return "none"
    return money(value, currency) if kpi in COST_KPIS else value


def _first_changed_flight(diff: dict, channel: str) -> str | None:
    """The start of the earliest flight of `channel` whose budget or dates changed."""
    for entry in diff["flights"]:
        if entry["channel"] != channel:
            continue
        starts = (
            [c["start"] for c in entry["changed"]]
            + [f["start"] for f in entry["added"]]
            + [m["after"]["start"] for m in entry["moved"]]
        )
        return min(starts) if starts else None
    return None


def _budget_sentences(diff: dict, currency: str) -> list[str]:
    sentences = []
    for row in diff["budgets"]:
        label = channel_label(row["channel"])
        before, after = money(row["before"], currency), money(row["after"], currency)
        if row["status"] == ChannelChange.ADDED:
            sentences.append(
                f"New channel: {label} on {platform_label(row['platform'])} with {after}."
            )
            continue
        if row["status"] == ChannelChange.REMOVED:
            sentences.append(f"{label} leaves the plan ({before} released).")
            continue
        if row["change"] == "0.00":
            continue
        direction = "up" if Decimal(row["change"]) > 0 else "down"
        sentence = f"{label} budget {direction} {_pct(row['change_pct'])} ({before} → {after})"
        start = _first_changed_flight(diff, row["channel"])
        sentences.append(f"{sentence} from {day_text(start)}." if start else f"{sentence}.")
    return sentences


def _flight_sentences(diff: dict, currency: str) -> list[str]:
    sentences = []
    for entry in diff["flights"]:
        label = channel_label(entry["channel"])
        if not any(
            b["channel"] == entry["channel"] and b["status"] == ChannelChange.KEPT
            for b in diff["budgets"]
        ):
            continue
        for moved in entry["moved"]:
            was, now = moved["before"], moved["after"]
            sentences.append(
                f"{label} flight of {day_text(was['start'])}–{day_text(was['end'])} now runs "
                f"{day_text(now['start'])}–{day_text(now['end'])} "
                f"({money(now['budget'], currency)})."
            )
        for added in entry["added"]:
            sentences.append(
                f"New {label} flight {day_text(added['start'])}–{day_text(added['end'])} "
                f"({money(added['budget'], currency)})."
            )
        for removed in entry["removed"]:
            sentences.append(
                f"{label} flight {day_text(removed['start'])}–{day_text(removed['end'])} "
                "is dropped."
            )
    return sentences


def _other_sentences(diff: dict, currency: str) -> list[str]:
    sentences = []
    if diff["objective"] and diff["objective"]["before"] is not None:
        sentences.append(
            f"Objective changes from {diff['objective']['before']} to {diff['objective']['after']}."
        )
    if diff["primary_kpi"] and diff["primary_kpi"]["before"] is not None:
        sentences.append(
            f"Primary KPI changes from {_kpi_label(diff['primary_kpi']['before'])} to "
            f"{_kpi_label(diff['primary_kpi']['after'])}."
        )
    for target in diff["kpi_targets"]:
        kpi = target["kpi"]
        before = _kpi_value(kpi, target["before"], currency)
        after = _kpi_value(kpi, target["after"], currency)
        if target["before"] is None:
            sentences.append(f"New {_kpi_label(kpi)} target: {after}.")
        elif target["after"] is None:
            sentences.append(f"The {_kpi_label(kpi)} target of {before} is dropped.")
        else:
            sentences.append(f"{_kpi_label(kpi)} target from {before} to {after}.")
    if diff["geos"]["added"]:
        sentences.append(f"New markets: {', '.join(diff['geos']['added'])}.")
    if diff["geos"]["removed"]:
        sentences.append(f"Markets dropped: {', '.join(diff['geos']['removed'])}.")
    start, end = diff["dates"]["start"], diff["dates"]["end"]
    if (start and start["before"]) or (end and end["before"]):
        sentences.append(
            "Plan dates change"
            + (f"; start {day_text(start['before'])} → {day_text(start['after'])}" if start else "")
            + (f"; end {day_text(end['before'])} → {day_text(end['after'])}" if end else "")
            + "."
        )
    themes = diff["creative_themes"]
    if themes["added"]:
        sentences.append(f"New creative themes: {', '.join(themes['added'])}.")
    if themes["removed"]:
        sentences.append(f"Creative themes retired: {', '.join(themes['removed'])}.")
    if diff["messaging"] and diff["messaging"]["before"] is not None:
        sentences.append("Messaging is updated (see the new wording).")
    return sentences


def _total_sentence(diff: dict, currency: str) -> str:
    totals = diff["totals"]
    before, after = money(totals["before"], currency), money(totals["after"], currency)
    change = Decimal(totals["change"])
    if change == 0:
        return f"Total budget unchanged at {after}."
    direction = "up" if change > 0 else "down"
    return f"Total budget {direction} {_pct(totals['change_pct'])} ({before} → {after})."


def _kpi_impact(diff: dict, payload: PlanPayload) -> list[str]:
    # Long on purpose: one sentence per kind of change a planner reads in the summary (budget,
    # KPI targets, new channels and markets, measurement, creative), in the summary's order.
    impact = []
    change = Decimal(diff["totals"]["change"])
    if change > 0:
        impact.append(
            "More budget should bring more conversions; the cost per result may rise a little "
            "as spend scales."
        )
    elif change < 0:
        impact.append(
            "Less budget means fewer conversions; the cost per result should hold or improve "
            "as the weakest spend goes first."
        )
    else:
        kept = [
            b
            for b in diff["budgets"]
            if b["status"] == ChannelChange.KEPT and b["change"] != "0.00"
        ]
        gainers = [channel_label(b["channel"]) for b in kept if Decimal(b["change"]) > 0]
        if gainers:
            impact.append(
                f"Same total, more weight on {', '.join(gainers)}: results should follow the "
                "channels that have performed best."
            )
    for target in diff["kpi_targets"]:
        if target["before"] is None or target["after"] is None:
            continue
        kpi = target["kpi"]
        stricter = (Decimal(target["after"]) < Decimal(target["before"])) == (kpi in COST_KPIS)
        if stricter:
            impact.append(
                f"A stricter {_kpi_label(kpi)} target asks for more efficient spend: expect "
                "fewer but cheaper results at first."
            )
        else:
            impact.append(
                f"A looser {_kpi_label(kpi)} target leaves room to scale: expect more volume "
                "at a higher cost per result."
            )
    if diff["channels"]["added"] or diff["geos"]["added"]:
        impact.append(
            "New channels and markets start without history: expect a learning period of about "
            "two weeks before they perform at target."
        )
    if diff["channels"]["removed"]:
        impact.append("Fewer channels narrow reach; results concentrate on the remaining ones.")
    if (diff["objective"] and diff["objective"]["before"] is not None) or (
        diff["primary_kpi"] and diff["primary_kpi"]["before"] is not None
    ):
        impact.append(
            f"Results are now measured in {_kpi_label(payload.primary_kpi)} towards "
            f"{payload.objective}: compare with earlier reports with care."
        )
    if diff["creative_themes"]["added"] or (
        diff["messaging"] and diff["messaging"]["before"] is not None
    ):
        impact.append("New creative and messaging need a few days to learn; early CTR may swing.")
    if payload.total_budget == 0:
        impact = ["All spend stops: no results until the plan resumes."]
    return impact or ["No change in expected results."]


def _listed_note(added: list, removed: list) -> str:
    """ "added AT; removed FR" — what joined and what left a list."""
    parts = []
    if added:
        parts.append(f"added {', '.join(str(x) for x in added)}")
    if removed:
        parts.append(f"removed {', '.join(str(x) for x in removed)}")
    return "; ".join(parts)


def _changes(
    diff: dict, currency: str, previous: PlanPayload | None, payload: PlanPayload
) -> list[dict]:
    """The flat field-by-field list of the preview ({field, before, after, note}); money rows
    carry their currency and date rows say so ("format"), so every page writes them one way."""
    rows = []
    for key in ("objective", "primary_kpi", "currency", "messaging"):
        if diff[key]:
            rows.append({"field": key, **diff[key], "note": ""})
    for key in ("start", "end"):
        if diff["dates"][key]:
            rows.append({"field": key, **diff["dates"][key], "note": "", "format": "date"})
    for target in diff["kpi_targets"]:
        rows.append(
            {
                "field": f"kpi_targets.{target['kpi']}",
                "before": target["before"],
                "after": target["after"],
                "note": percent_change(target["change_pct"]) if target["change_pct"] else "",
            }
        )
    for key in ("geos", "creative_themes"):
        if diff[key]["added"] or diff[key]["removed"]:
            rows.append(
                {
                    "field": key,
                    # The whole list on each side: a new plan reads "— → DE, AT", never
                    # "removed → added".
                    "before": list(getattr(previous, key)) if previous else None,
                    "after": list(getattr(payload, key)),
                    "note": _listed_note(diff[key]["added"], diff[key]["removed"]),
                }
            )
    for row in diff["budgets"]:
        if row["change"] != "0.00" or row["status"] != ChannelChange.KEPT:
            rows.append(
                {
                    "field": f"channels.{row['channel']}.budget",
                    "before": row["before"],
                    "after": row["after"],
                    "note": row["status"]
                    if row["status"] != ChannelChange.KEPT
                    else percent_change(row["change_pct"]),
                    "format": "money",
                    "currency": currency,
                }
            )
    return rows


def _budget_table(diff: dict, currency: str) -> dict:
    return {
        "currency": currency,
        "columns": ["Channel", "Platform", "Before", "After", "Change", "Change %"],
        "rows": [
            {
                "channel": row["channel"],
                "label": channel_label(row["channel"]),
                "platform": row["platform"],
                "platform_label": platform_label(row["platform"]),
                "status": row["status"],
                "before": row["before"],
                "after": row["after"],
                "change": row["change"],
                "change_pct": row["change_pct"],
            }
            for row in diff["budgets"]
        ],
        "totals": diff["totals"],
    }


# How the preview's budget table reads, column by column (config.formatting's figure kinds).
PREVIEW_TABLE_FORMATS = ["text", "text", "money", "money", "money_change", "percent_change"]


def ticket_diff_preview(summary: dict) -> dict:
    """The summary in the ticket's diff-preview shape, where a table row is a list of cells
    (the approvals app renders any ticket's preview without knowing about plans). Cells keep
    the diff's values; `formats` says how each column is written, so the ticket page writes
    them exactly as the version page does."""
    table = summary["budget_table"]
    totals = table["totals"]
    return {
        **summary,
        "budget_table": {
            "currency": table["currency"],
            "columns": table["columns"],
            "formats": PREVIEW_TABLE_FORMATS,
            "rows": [
                [
                    row["label"],
                    row["platform_label"],
                    row["before"],
                    row["after"],
                    row["change"],
                    row["change_pct"],
                ]
                for row in table["rows"]
            ],
            "totals": [
                "Total",
                "",
                totals["before"],
                totals["after"],
                totals["change"],
                totals["change_pct"],
            ],
        },
    }


def plan_revise_summary(
    before: dict | PlanPayload | None, after: dict | PlanPayload, *, diff: dict | None = None
) -> dict:
    """The client-facing preview of vN → vN+1 (see the module docstring for the shape)."""
    payload = parse_payload(after)
    previous = parse_payload(before) if before is not None else None
    diff = diff if diff is not None else plan_diff(previous, payload)
    currency = payload.currency
    if before is None:
        summary = [
            f"New plan from {date_text(payload.start)} to {date_text(payload.end)}: "
            f"{money(payload.total_budget, currency)} "
            f"across {len(payload.channels)} channel{'s' if len(payload.channels) != 1 else ''}, "
            f"optimising for {payload.objective} ({_kpi_label(payload.primary_kpi)})."
        ]
    else:
        summary = (
            _budget_sentences(diff, currency)
            + _flight_sentences(diff, currency)
            + _other_sentences(diff, currency)
        )
        summary.append(_total_sentence(diff, currency))
    return {
        "summary": summary,
        "changes": _changes(diff, currency, previous, payload),
        "budget_table": _budget_table(diff, currency),
        "kpi_impact": _kpi_impact(diff, payload) if before is not None else [],
        "raw": diff,
    }
