"""What the stateful property test (test_what_was_approved_states.py) reads to check its
invariants: every place that shows a channel's drift, an independent model of drift, and every
place a client reads a spend approval's amount. Kept apart so the state machine stays a list of
rules and invariants."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from approvals.models import Ticket
from approvals.presentation import subject_client_words
from config.formatting import money
from metrics.report import weekly_report
from optimization import drift, triggers
from optimization.models import DAILY_BUDGET, AppliedChange, ChangeSet
from optimization.selectors import approved_edits, change_set_client_figures
from plans.models import PlanVersion, Track

ZERO = Decimal("0")


def plan_channels(payload: dict) -> dict[str, dict]:
    return {c["channel"]: c for c in payload.get("channels", [])}


def channels_changed(version: PlanVersion) -> set[str]:
    """The channels whose plan `version` changes against its parent (the model's own reading,
    not drift.py's)."""
    before = plan_channels(version.parent.payload) if version.parent_id else {}
    after = plan_channels(version.payload)
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


def model_net(track: Track, reset_at: dict[str, datetime], now: datetime) -> dict[str, Decimal]:
    """Per planned channel: the daily-budget moves applied since the approval of the last version
    that changed it (or the rolling window's start, whichever is later)."""
    window = now - timedelta(days=track.tenant.policy.drift_window_days)
    net = {}
    for channel, since in reset_at.items():
        total = AppliedChange.objects.filter(
            track=track,
            field=DAILY_BUDGET,
            channel=channel,
            applied_at__gte=max(since, window),
            applied_at__lte=now,
        ).aggregate(total=Sum("delta"))["total"]
        net[channel] = total or ZERO
    return net


def drift_everywhere(track: Track, client: Client, now: datetime) -> dict[str, dict]:
    """Each reader's (net, pct) per channel: the selector, the drift page, the weekly report, the
    guardrails' reading and the revise-trigger scan (only the channels beyond the bound)."""

    def figures(rows) -> dict[str, tuple]:
        return {row.channel: (row.net, row.pct) for row in rows if row.planned}

    track = Track.objects.select_related("tenant", "current_version").get(pk=track.pk)
    selector = drift.track_drift(track=track, now=now)
    page = client.get(reverse("optimization:drift", args=[track.tenant.slug, track.key]))
    assert page.status_code == 200
    week_start = track.tenant.today(now) - timedelta(days=track.tenant.today(now).weekday())
    report = weekly_report(track=track, week_start=week_start, client_safe=False, now=now)
    return {
        "selector": figures(selector.channels),
        "drift page": figures(page.context["drift"].channels),
        "weekly report": figures(report.drift.channels),
        "guardrails": figures(drift.channel_drift_rows(track=track, now=now)),
        "scan": {d.channel: (d.net, d.pct) for d in triggers.drifts([track], now)},
        "beyond": {c.channel: (c.net, c.pct) for c in selector.beyond},
    }


def applied_deltas(change_set: ChangeSet) -> dict[str, Decimal]:
    deltas: dict[str, Decimal] = {}
    for row in change_set.applied.filter(field=DAILY_BUDGET):
        deltas[row.channel] = deltas.get(row.channel, ZERO) + (row.delta or ZERO)
    return deltas


def client_reads(ticket: Ticket, client: Client) -> list[str]:
    """Where the client reads `ticket`'s amount, as text: the portal item, its place in "Waiting
    for you" or the history, and the client's weekly report's waiting list (titles)."""
    change_set = ChangeSet.objects.get(tenant_id=ticket.tenant_id, change_set_id=ticket.subject_id)
    figures = change_set_client_figures(change_set)
    (move,) = figures.moves
    currency = change_set.track.currency
    edits = approved_edits(change_set)  # what change_set_apply_within writes
    will_move = sum(
        (
            Decimal(str(edits.get(item.position, item.after))) - Decimal(str(item.before))
            for item in change_set.items.filter(field=DAILY_BUDGET)
        ),
        ZERO,
    )
    assert move.applying == will_move, f"the client reads {move.applying}, {will_move} applies"
    will_apply = f"{money(move.before, currency)} → {money(move.before + move.applying, currency)}"
    words = subject_client_words(ticket)
    assert words.title.endswith(will_apply), (words.title, will_apply)
    item = client.get(reverse("portal:item", args=[ticket.public_id])).content.decode()
    assert will_apply in item, will_apply
    pages = {"portal item": item}
    listing = "portal:home" if ticket.status == "open" else "portal:history"
    listed = client.get(reverse(listing)).content.decode()
    if ticket.public_id in listed or words.title in listed:
        assert will_apply in listed, (listing, will_apply)
        pages[listing] = listed
    if move.asked != move.applying:
        asked = money(move.before + move.asked, currency)
        for name, text in pages.items():
            assert asked not in text, f"the {name} still shows the asked {asked}"
    return [words.title]


def client_report_titles(track: Track, now: datetime) -> list[str]:
    track = Track.objects.select_related("tenant").get(pk=track.pk)
    week_start = track.tenant.today(now) - timedelta(days=track.tenant.today(now).weekday())
    report = weekly_report(track=track, week_start=week_start, client_safe=True, now=now)
    return [line.title for line in report.pending]
