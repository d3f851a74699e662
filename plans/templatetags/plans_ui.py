"""Presentation helpers for the plan pages: status labels in words, money, percentages, times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import template
from django.utils.html import format_html

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
# Colour only backs up the word on the label; the word is what people read.
STATUS_CLASSES = {
    "draft": "label",
    "pending_approval": "label-warn",
    "approved": "label-ok",
    "superseded": "label",
    "rejected": "label-danger",
}
PATH_CLASSES = {
    "optimization": "label",
    "revise": "label-accent",
    "replan": "label-warn",
    "track_draft": "label-accent",
    "event_draft": "label-accent",
}


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value, currency: str = "") -> str:
    """46000, "EUR" → "€46,000.00"; a value that is not a number is shown as it is."""
    amount = _decimal(value)
    if amount is None:
        return "—" if value in (None, "") else str(value)
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper(), "")
    sign = "−" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}".strip()


@register.filter
def signed_money(value, currency: str = "") -> str:
    """A change of budget: "+€4,800.00" / "−€1,000.00" / "±0"."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    if amount == 0:
        return "±0"
    return ("+" if amount > 0 else "") + money(amount, currency)


@register.filter
def pct(value) -> str:
    """12 → "+12.0%"; None (no base to compare with) → "new"."""
    amount = _decimal(value)
    if amount is None:
        return "new"
    if amount == 0:
        return "±0%"
    sign = "+" if amount > 0 else "−"
    return f"{sign}{abs(amount):.1f}%"


@register.filter
def local_time(value: datetime | None, tz_name: str = "UTC") -> str:
    """A timestamp in the tenant's time zone, e.g. "21 Nov 2026 14:05 CET"."""
    if not value:
        return "—"
    local = value.astimezone(ZoneInfo(tz_name or "UTC"))
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


@register.simple_tag
def status_label(status: str, text: str = ""):
    """A version status as a small label with its word ("Pending approval")."""
    words = text or str(status).replace("_", " ").capitalize()
    css = STATUS_CLASSES.get(str(status), "label")
    if css != "label":
        css = f"label {css}"
    return format_html('<span class="{}" data-status="{}">{}</span>', css, status, words)


@register.simple_tag
def path_label(path: str):
    """The classifier's verdict as a label: "revise", "replan", "optimization"."""
    css = PATH_CLASSES.get(str(path), "label")
    if css != "label":
        css = f"label {css}"
    return format_html('<span class="{}" data-path="{}">{}</span>', css, path, path)


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
        total += _decimal(channel.get("budget")) or Decimal("0")
    return total
