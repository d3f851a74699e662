"""Presentation helpers for the optimization pages: statuses as labels with words, values by
field (money for daily budgets), short change-set ids for buttons.

Money, percentages and times come from `{% load formatting %}` (config/formatting.py).
"""

from __future__ import annotations

import json

from django import template
from django.utils.html import format_html

from approvals.inbox import sla_text
from config.formatting import money
from optimization.alignment import track_alignment
from optimization.models import (
    DAILY_BUDGET,
    ChangeSetEventKind,
    ChangeSetKind,
    ChangeSetStatus,
    RecommendationStatus,
)

register = template.Library()

# Colour only backs up the word on the label; the word is what people read.
STATUS_CLASSES = {
    ChangeSetStatus.APPLIED: "label-ok",
    ChangeSetStatus.PENDING_APPROVAL: "label-warn",
    ChangeSetStatus.BLOCKED: "label-danger",
    ChangeSetStatus.REJECTED: "label-danger",
    ChangeSetStatus.STALE: "label-warn",
    ChangeSetStatus.LAPSED: "label",
    ChangeSetStatus.APPROVED_WAITING: "label-accent",
    ChangeSetStatus.REFUSED: "label-danger",
}
EVENT_CLASSES = {
    ChangeSetEventKind.APPLIED: "label-ok",
    ChangeSetEventKind.APPROVED: "label-ok",
    ChangeSetEventKind.EDITED: "label-ok",
    ChangeSetEventKind.PENDING_APPROVAL: "label-warn",
    ChangeSetEventKind.STALE: "label-warn",
    ChangeSetEventKind.BLOCKED: "label-danger",
    ChangeSetEventKind.REJECTED: "label-danger",
    ChangeSetEventKind.ROLLED_BACK: "label-accent",
    ChangeSetEventKind.WAITING: "label-accent",
    ChangeSetEventKind.REFUSED: "label-danger",
}
RECOMMENDATION_CLASSES = {
    RecommendationStatus.OPEN: "label-warn",
    RecommendationStatus.DRAFTED: "label-ok",
    RecommendationStatus.DISMISSED: "label",
}


def _label(css: str, value: str, words: str):
    css = css if css == "label" else f"label {css}"
    return format_html('<span class="{}" data-status="{}">{}</span>', css, value, words)


@register.simple_tag
def alignment_label(track):
    """The track's alignment with its approved version (optimization/alignment.py): "aligned",
    "n to align" with its due time, red once overdue."""
    found = track_alignment(track=track)
    if found.version is None:
        return ""
    if found.aligned:
        return format_html(
            '<span class="label label-ok" data-testid="alignment">aligned with v{}</span>',
            found.version,
        )
    css = "label-danger" if found.overdue else "label-warn"
    return format_html(
        '<span class="label {}" data-testid="alignment">{} to v{} · {}</span>',
        css,
        found.words,
        found.version,
        sla_text(due_at=found.due_at, now=found.now),
    )


@register.simple_tag
def change_set_status(change_set):
    """A change set's outcome as a small label with its words ("Waiting for approval")."""
    return _label(
        STATUS_CLASSES.get(change_set.status, "label"),
        change_set.status,
        change_set.get_status_display(),
    )


@register.simple_tag
def event_label(event):
    return _label(EVENT_CLASSES.get(event.kind, "label"), event.kind, event.get_kind_display())


@register.simple_tag
def recommendation_status(recommendation):
    return _label(
        RECOMMENDATION_CLASSES.get(recommendation.status, "label"),
        recommendation.status,
        recommendation.get_status_display(),
    )


@register.simple_tag
def guardrail_label(ok: bool):
    """ "within" or "beyond" a guardrail, in words."""
    if ok:
        return _label("label-ok", "within", "within")
    return _label("label-danger", "beyond", "beyond")


@register.filter
def short_id(value) -> str:
    """A change-set id as people quote it: whole, never cut to "demo-13-targ…" (issue 18). The
    stylesheet lets a long one break across lines (.mono) instead."""
    return str(value)


@register.simple_tag
def field_value(field: str, value, currency: str = "") -> str:
    """An item's value as people read it: money for a daily budget, words for the rest."""
    if value is None:
        return "—"
    if field == DAILY_BUDGET:
        return money(value, currency)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


@register.filter
def words(value) -> str:
    """daily_budget → daily budget."""
    return str(value).replace("_", " ")


@register.filter
def by_agent(change_set) -> bool:
    """An agent's own change (not a rollback, a pause or a resume by a person)."""
    return change_set.kind == ChangeSetKind.AGENT
