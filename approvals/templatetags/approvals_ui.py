"""Presentation helpers for ticket pages: SLA timers, diff cells, red-flag figures, labels.

Money, percentages and times come from `{% load formatting %}` (config/formatting.py), the one
rule every page uses.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from approvals.inbox import SLA_AMBER, SLA_OVERDUE, sla_state, sla_text, waiting_slots
from approvals.models import TicketStatus
from approvals.types import Verdict
from audit.actors import actor_words
from config.formatting import FIGURE_FORMATS, date_text, figure, number, to_decimal

register = template.Library()

PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
SLA_CLASSES = {SLA_OVERDUE: "sla-red", SLA_AMBER: "sla-amber"}


@register.simple_tag
def sla_timer(ticket, now: datetime | None = None):
    """An open ticket's countdown; static/js/sla.js keeps it ticking from the data attributes."""
    if ticket.sla_due_at is None or not ticket.is_open:
        return ""
    now = now or timezone.now()
    state = sla_state(due_at=ticket.sla_due_at, opened_at=ticket.created_at, now=now)
    return format_html(
        '<span class="sla {}" data-sla-due="{}" data-sla-opened="{}">{}</span>',
        SLA_CLASSES.get(state, "sla-ok"),
        ticket.sla_due_at.isoformat(),
        ticket.created_at.isoformat() if ticket.created_at else "",
        sla_text(due_at=ticket.sla_due_at, now=now),
    )


@register.filter
def is_number(value) -> bool:
    return to_decimal(value) is not None


@register.filter
def diff_cell(value) -> str:
    """A before/after value as a person reads it: scalars plainly, lists joined, objects as JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal) or (
        # Money arrives as JSON strings ("40000.00"); "1e3" or "NaN" stay the text they are.
        isinstance(value, str) and PLAIN_NUMBER.match(value)
    ):
        return number(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _formats(table) -> list | None:
    """The figure kind per column a preview table names, or None for a table naming none (the
    demo's, older previews). Agents write previews too: anything unexpected names nothing."""
    formats = table.get("formats") if isinstance(table, dict) else None
    return formats if isinstance(formats, list) else None


def _figure_kind(formats: list, index: int) -> str | None:
    kind = formats[index] if 0 <= index < len(formats) else None
    return kind if isinstance(kind, str) and kind in FIGURE_FORMATS else None


@register.simple_tag
def preview_column_class(table: dict, index: int) -> str:
    """ "num" for a column of figures; a table without `formats` has figures after its first."""
    formats = _formats(table)
    if formats is None:
        return "num" if index else ""
    return "num" if _figure_kind(formats, index) else ""


@register.simple_tag
def preview_cell(table: dict, index: int, cell, total: bool = False):
    """One cell of a diff preview's budget table, written by its column's figure kind; in a
    table without `formats`, a number is money in the table's currency. Text in the totals row
    heads it."""
    currency = table.get("currency", "") if isinstance(table, dict) else ""
    formats = _formats(table)
    if formats is None:
        kind = "money" if is_number(cell) else None
    else:
        kind = _figure_kind(formats, index)
    if kind and (cell is None or is_number(cell)):
        return format_html('<td class="num">{}</td>', figure(kind, cell, currency))
    if kind:
        return format_html('<td class="num">{}</td>', diff_cell(cell))
    if total:
        return format_html('<th scope="row">{}</th>', diff_cell(cell))
    return format_html("<td>{}</td>", diff_cell(cell))


@register.filter
def cost_ratio(red_flag: dict | None) -> str:
    """A9: how many times the estimate the run has spent, e.g. "3.1×"."""
    estimated = to_decimal((red_flag or {}).get("estimated_usd"))
    actual = to_decimal((red_flag or {}).get("actual_usd"))
    if not estimated or actual is None:
        return ""
    # Half up, as config.formatting rounds every figure ($6.50 of $2 is 3.3×, not 3.2×).
    return f"{(actual / estimated).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}×"


@register.filter
def waiting_for_label(ticket) -> str:
    """ "planner and client": the approval slots still open on an open ticket ("" if none)."""
    return " and ".join(waiting_slots(ticket))


STATUS_CLASSES = {
    TicketStatus.OPEN: "label-accent",
    TicketStatus.APPROVED: "label-ok",
    TicketStatus.REJECTED: "label-danger",
    TicketStatus.CHANGES_REQUESTED: "label-warn",
}
VERDICT_BUTTON_CLASSES = {Verdict.APPROVE: "btn-primary", Verdict.REJECT: "btn-danger"}
# approvals.explain.SlotState.tone → the label's colour (the word is always beside it).
SLOT_TONE_CLASSES = {"ok": "label-ok", "danger": "label-danger", "warn": "label-warn"}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "")


@register.filter
def slot_tone_class(tone: str) -> str:
    return SLOT_TONE_CLASSES.get(tone, "")


@register.filter
def verdict_button_class(verdict: str) -> str:
    """Approve is the primary button and reject the dangerous one; anything else is plain."""
    return VERDICT_BUTTON_CLASSES.get(verdict, "")


@register.simple_tag
def filter_select(form, name: str):
    """A filter's <select>, built directly: the form widget renderer costs more than the rest of
    the filter bar on a page people reload all day."""
    current = str(form.data.get(name, ""))
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if str(value) == current else "", label)
            for value, label in form.fields[name].choices
        ),
    )
    return format_html('<select name="{}" id="id_{}">{}</select>', name, name, options)


@register.simple_tag
def filter_input(form, name: str, kind: str = "text"):
    return format_html(
        '<input type="{}" name="{}" id="id_{}" value="{}">',
        kind,
        name,
        name,
        form.data.get(name, ""),
    )


@register.filter
def requester_words(ticket) -> str:
    """Who asked for a ticket, in words: an agent's name, a person's, or what a system worker
    does ("Revise-trigger scan", never "optimization.scan_triggers")."""
    name = ticket.requesting_agent or ticket.opened_by
    return actor_words(name) if name else "—"


@register.filter
def escalation_words(level) -> str:
    """ "Escalated to admins", "Escalated to admins twice" — never "escalated 1"."""
    if not level:
        return ""
    times = {1: "", 2: " twice"}.get(level, f" {level} times")
    return f"Escalated to admins{times}"


VERDICT_PAST = {
    Verdict.APPROVE: "approved",
    Verdict.REJECT: "rejected",
    Verdict.REQUEST_CHANGES: "changes requested",
}


@register.filter
def verdict_past(verdict: str) -> str:
    """ "rejected by legal", never "Reject by legal"."""
    return VERDICT_PAST.get(verdict, str(verdict))


@register.simple_tag
def change_cell(diff: dict, change: dict, side: str):
    """One before/after cell of a diff preview's "changes": money with its currency (the row's,
    else the preview's), dates as "2 Mar 2027", anything else as `diff_cell` writes it. A row
    that names no format and whose field is a budget is money too (agents' previews)."""
    value = change.get(side) if isinstance(change, dict) else None
    kind = change.get("format") if isinstance(change, dict) else None
    field = str(change.get("field", "")) if isinstance(change, dict) else ""
    if kind is None and is_number(value) and field.rsplit(".", 1)[-1].endswith("budget"):
        kind = "money"
    if kind == "date" and isinstance(value, str):
        return format_html('<td class="{}">{}</td>', side, date_text(value))
    if kind in FIGURE_FORMATS and is_number(value):
        currency = change.get("currency") or _preview_currency(diff)
        return format_html('<td class="{} num">{}</td>', side, figure(kind, value, currency))
    css = f"{side} num" if is_number(value) else side
    return format_html('<td class="{}">{}</td>', css, diff_cell(value))


def _preview_currency(diff) -> str:
    if not isinstance(diff, dict):
        return ""
    table = diff.get("budget_table")
    table_currency = table.get("currency", "") if isinstance(table, dict) else ""
    return str(diff.get("currency") or table_currency or "")
