"""Presentation helpers for the plan pages: statuses, paths and changes as labels with words.

Money, percentages and times come from `{% load formatting %}` (config/formatting.py), the one
rule every page uses.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

from config.formatting import to_decimal
from plans.classify import ChangePath
from plans.diff import ChannelChange, ManifestAction
from plans.models import PlanStatus

register = template.Library()

# Colour only backs up the word on the label; the word is what people read.
STATUS_CLASSES = {
    PlanStatus.DRAFT: "label",
    PlanStatus.PENDING_APPROVAL: "label-warn",
    PlanStatus.APPROVED: "label-ok",
    PlanStatus.SUPERSEDED: "label",
    PlanStatus.REJECTED: "label-danger",
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
    """The classifier's verdict as a label: "revise", "replan", "optimization"."""
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
