"""Start-up checks: every kind has its words and default, and the outbox hears approvals."""

from __future__ import annotations

from django.core import checks

from approvals.events import registered_lifecycle_listeners
from notifications.kinds import KIND_SPECS, Delivery, Kind
from notifications.outbox import OutboxListener


@checks.register()
def notifications_are_wired(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for kind in Kind.values:
        spec = KIND_SPECS.get(kind)
        if spec is None:
            errors.append(checks.Error(f"No KindSpec for {kind!r}.", id="notifications.E001"))
        elif spec.locked and spec.default != Delivery.IMMEDIATE:
            errors.append(
                checks.Error(f"{kind!r} is locked but not immediate.", id="notifications.E002")
            )
    if not any(isinstance(x, OutboxListener) for x in registered_lifecycle_listeners()):
        errors.append(
            checks.Error(
                "The notifications outbox does not hear approvals' lifecycle events.",
                hint="notifications/apps.py registers OutboxListener.",
                id="notifications.E003",
            )
        )
    return errors
