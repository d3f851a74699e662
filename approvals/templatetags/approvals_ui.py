"""Presentation helpers for ticket pages: SLA timers, money, tenant-local times, diff cells."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from approvals.inbox import SLA_AMBER, SLA_OVERDUE, sla_state, sla_text, waiting_slots

register = template.Library()

PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
SLA_CLASSES = {SLA_OVERDUE: "sla-red", SLA_AMBER: "sla-amber"}


@register.simple_tag
def sla_timer(ticket, now: datetime | None = None):
    """An open ticket's countdown; static/js/sla.js keeps it ticking from the data attributes."""
    if ticket.sla_due_at is None or ticket.status != "open":
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
def in_tz(value: datetime | None, tz_name: str) -> str:
    """A timestamp in the tenant's time zone, e.g. "21 Nov 2026 14:05 CET"."""
    if not value:
        return ""
    local = value.astimezone(ZoneInfo(tz_name or "UTC"))
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def is_number(value) -> bool:
    return _decimal(value) is not None


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5, "EUR" → "€1,234.50"; anything that is not a number is shown as it is."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper(), "")
    text = f"{abs(amount):,.2f}"
    sign = "−" if amount < 0 else ""
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}".strip()


@register.filter
def diff_cell(value) -> str:
    """A before/after value as a person reads it: scalars plainly, lists joined, objects as JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return f"{value:,}"
    if isinstance(value, str) and PLAIN_NUMBER.match(value):
        # Money arrives as JSON strings ("40000.00"): group the digits, keep the decimals.
        sign, digits = ("-", value[1:]) if value.startswith("-") else ("", value)
        whole, _, decimals = digits.partition(".")
        return f"{sign}{int(whole):,}" + (f".{decimals}" if decimals else "")
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def cost_ratio(red_flag: dict | None) -> str:
    """A9: how many times the estimate the run has spent, e.g. "3.1×"."""
    estimated = _decimal((red_flag or {}).get("estimated_usd"))
    actual = _decimal((red_flag or {}).get("actual_usd"))
    if not estimated or actual is None:
        return ""
    return f"{actual / estimated:.1f}×"


@register.filter
def waiting_for_label(ticket) -> str:
    """ "planner and client": the approval slots still open on an open ticket."""
    return " and ".join(waiting_slots(ticket)) or "—"


STATUS_CLASSES = {
    "open": "label-accent",
    "approved": "label-ok",
    "rejected": "label-danger",
    "changes_requested": "label-warn",
}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "")


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
