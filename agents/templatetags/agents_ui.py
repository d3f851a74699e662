"""`{% load agents_ui %}`: how the System Ops pages write a run's state, a gate call's outcome, a
reservation's status and a counter against its ceiling — words on small coloured labels, never
colour alone. Money and times come from `{% load formatting %}`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from agents.models import ReservationStatus, RunState
from agents.views_queries import reason_words as _reason_words
from config.formatting import number, percent, to_decimal

register = template.Library()

STATE_CLASSES = {
    RunState.RUNNING: "label-ok",
    RunState.BLOCKED: "label-danger",
    RunState.ENDED: "",
}
RESERVATION_CLASSES = {
    ReservationStatus.OPEN: "label-accent",
    ReservationStatus.SETTLED: "label-ok",
    ReservationStatus.RELEASED: "",
    ReservationStatus.LAPSED: "label-warn",
}


@register.simple_tag
def run_state(run):
    state = RunState(run.state)
    return format_html(
        '<span class="label {}" data-testid="run-state">{}</span>',
        STATE_CLASSES[state],
        state.label,
    )


@register.simple_tag
def gate_outcome(call):
    if call.allowed:
        return mark_safe('<span class="label label-ok">allowed</span>')
    return mark_safe('<span class="label label-danger">refused</span>')


@register.simple_tag
def reservation_status(reservation, now=None):
    """Its status; an open one past its 15 minutes reads "expired": it still counts against the
    line until the run's next reserving call lapses it (the gate lapses on its way)."""
    status = ReservationStatus(reservation.status)
    if status == ReservationStatus.OPEN and reservation.expires_at <= (now or timezone.now()):
        return format_html(
            '<span class="label label-warn" title="{}">expired</span>',
            "Still held against the line until the next reserving call lapses it",
        )
    return format_html(
        '<span class="label {}">{}</span>', RESERVATION_CLASSES[status], status.label.lower()
    )


@register.simple_tag
def qc_verdict(passed: bool):
    if passed:
        return mark_safe('<span class="label label-ok">passed</span>')
    return mark_safe('<span class="label label-danger">failed</span>')


@register.simple_tag
def counter_cell(counter):
    """ "5 / 5" (at its ceiling: red and bold, with the word), "3" for a counter without one."""
    if counter is None:
        return "—"
    if counter.ceiling is None:
        return format_html("{}", counter.count)
    if counter.at_limit:
        return format_html(
            '<span class="at-limit" title="at its limit">{} / {}</span>',
            counter.count,
            counter.ceiling,
        )
    return format_html("{} / {}", counter.count, counter.ceiling)


@register.filter
def reason_words(reason: str) -> str:
    return _reason_words(reason or "")


@register.filter
def ratio(value) -> str:
    """3.25 → "3.3×" (how many times the estimate), rounded half up as every figure is."""
    figure = to_decimal(value)
    if figure is None:
        return ""
    return f"{figure.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}×"


@register.filter
def plain_number(value) -> str:
    """A count as config.formatting writes plain numbers: 12345 → "12,345"."""
    return number(value)


@register.filter
def rate_percent(value) -> str:
    """A rate from 0 to 1 as a percentage: Decimal("0.7500") → "75%"."""
    share = to_decimal(value)
    return percent(share * 100) if share is not None else "—"
