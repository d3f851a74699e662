"""A wrong API_RATE_LIMIT fails at start-up (`manage.py check`), not on every request."""

from django.conf import settings
from django.core.checks import Error, register

from api.ratelimit import parse_rate


@register()
def api_rate_limit_readable(app_configs, **kwargs):
    try:
        parse_rate(settings.API_RATE_LIMIT)
    except ValueError as exc:
        return [
            Error(str(exc), hint="Write it like 300/60s, 100/m or 5000/h (or off).", id="api.E001")
        ]
    return []
