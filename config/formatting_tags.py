"""`{% load formatting %}`: config/formatting.py's rules as template filters, for every app's
templates (registered as a template library in settings, since `config` is not an app).

    {{ amount|money:currency }}   {{ change|money_change:currency }}
    {{ share|percent }}           {{ change_pct|percent_change }}
    {{ day|date_text }}           {{ moment|local_time:tenant.time_zone }}
    {{ moment|local_time_seconds:tenant.time_zone }}
"""

from __future__ import annotations

from django import template

from config import formatting

register = template.Library()

register.filter("money", formatting.money)
register.filter("money_change", formatting.money_change)
register.filter("percent", formatting.percent)
register.filter("percent_change", formatting.percent_change)
register.filter("date_text", formatting.date_text)
register.filter("local_time", formatting.local_time)


@register.filter
def local_time_seconds(value, tz_name: str = "UTC") -> str:
    return formatting.local_time(value, tz_name, seconds=True)
