"""Presentation helpers for the plan pages: statuses, paths and changes as labels with words.

Money, percentages and times come from `{% load formatting %}` (config/formatting.py), the one
rule every page uses.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

from config.formatting import date_text, money, to_decimal
from plans.classify import ChangePath
from plans.diff import ChannelChange, ManifestAction, ManifestState
from plans.models import PlanStatus

register = template.Library()

# Colour only backs up the word on the label; the word is what people read.
STATUS_CLASSES = {
    PlanStatus.DRAFT: "label",
    PlanStatus.PENDING_APPROVAL: "label-warn",
    PlanStatus.APPROVED: "label-ok",
    PlanStatus.SUPERSEDED: "label",
    PlanStatus.REJECTED: "label-danger",
    PlanStatus.DISCARDED: "label",
    PlanStatus.OUTDATED: "label-warn",
}
PATH_CLASSES = {
    ChangePath.OPTIMIZATION: "label",
    ChangePath.REVISE: "label-accent",
    ChangePath.REPLAN: "label-warn",
    ChangePath.TRACK_DRAFT: "label-accent",
    ChangePath.EVENT_DRAFT: "label-accent",
}
# A channel that joins or leaves the plan, beside its name in a budget table.
CHANNEL_CHANGE_LABELS = {
    ChannelChange.ADDED: ("label-ok", "new"),
    ChannelChange.REMOVED: ("label-danger", "removed"),
}
MANIFEST_ACTION_WORDS = {
    ManifestAction.LAUNCH: "launch (no live entity yet)",
    ManifestAction.PAUSE: "pause",
    ManifestAction.SET_DAILY_BUDGET: "set daily budget",
}


# A channel's standing against the live manifest (plans.diff.manifest_diff rows).
MANIFEST_STATE_CLASSES = {
    ManifestState.ALIGNED: "label-ok",
    ManifestState.TO_ALIGN: "label-warn",
    ManifestState.TO_LAUNCH: "label-warn",
    ManifestState.ENDED: "label",
    ManifestState.UNSCHEDULED: "label",
}


def _label_class(css: str) -> str:
    return css if css == "label" else f"label {css}"


@register.simple_tag
def status_label(status: str, text: str = ""):
    """A version status as a small label with its word ("Pending approval")."""
    words = text or str(status).replace("_", " ").capitalize()
    css = _label_class(STATUS_CLASSES.get(str(status), "label"))
    return format_html('<span class="{}" data-status="{}">{}</span>', css, status, words)


@register.simple_tag
def path_label(path: str):
    """The classification's path as a label: "revise", "replan", "optimization"."""
    css = _label_class(PATH_CLASSES.get(str(path), "label"))
    return format_html('<span class="{}" data-path="{}">{}</span>', css, path, path)


@register.simple_tag
def channel_change_label(status: str):
    """ "new" or "removed" beside a channel that joins or leaves the plan; nothing if kept."""
    found = CHANNEL_CHANGE_LABELS.get(str(status))
    if found is None:
        return ""
    css, word = found
    return format_html(' <span class="label {}">{}</span>', css, word)


@register.filter
def manifest_action(action: str) -> str:
    """What Execution still has to do on a channel, in words."""
    return MANIFEST_ACTION_WORDS.get(str(action), str(action).replace("_", " "))


@register.simple_tag
def manifest_state_label(row: dict):
    """A channel's row against the live manifest as a label with words: "aligned", "to align",
    "starts 15 Dec — to launch", "flights ended", "no flight scheduled". Rows recorded before
    rows carried a state read from `aligned`."""
    state = row.get("state") or (
        ManifestState.ALIGNED if row.get("aligned") else ManifestState.TO_ALIGN
    )
    if state == ManifestState.TO_LAUNCH:
        words = f"starts {date_text(row.get('starts'), year=False)} — to launch"
    elif state == ManifestState.ENDED:
        words = "flights ended"
    elif state == ManifestState.UNSCHEDULED:
        words = "no flight scheduled"
    else:
        words = str(state).replace("_", " ")
    css = _label_class(MANIFEST_STATE_CLASSES.get(state, "label"))
    return format_html('<span class="{}" data-state="{}">{}</span>', css, state, words)


@register.simple_tag
def scheduled_change(change: dict, currency: str) -> str:
    """One later change of a channel's daily budget, in words: "tiktok: launch at €100 a day",
    "search: pause until its next flight", "search: daily budget €483.87 → €322.58"."""
    channel, target = change["channel"], money(change["target"], currency)
    if change["action"] == ManifestAction.LAUNCH:
        return f"{channel}: launch at {target} a day"
    if change["action"] == ManifestAction.PAUSE:
        return f"{channel}: pause until its next flight"
    return f"{channel}: daily budget {money(change['before'], currency)} → {target}"


@register.filter
def day_text(value) -> str:
    """A day without its year, where the sentence already places it: "15 Dec"."""
    return date_text(value, year=False)


@register.filter
def dash(value) -> str:
    """Lists joined with commas; empty → "—"."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@register.simple_tag
def payload_total(payload: dict | None) -> Decimal:
    """The sum of the channel budgets of a payload (Decimal, never float)."""
    total = Decimal("0")
    for channel in (payload or {}).get("channels") or []:
        total += to_decimal(channel.get("budget")) or Decimal("0")
    return total
