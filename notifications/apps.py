from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from approvals.events import register_lifecycle_listener, register_told_counter
        from approvals.presentation import register_ticket_panel
        from notifications import checks  # noqa: F401 (registers the start-up checks)
        from notifications.outbox import OutboxListener
        from notifications.panels import watch_panel
        from notifications.selectors import people_told_since

        register_lifecycle_listener(OutboxListener())
        register_told_counter(people_told_since)
        register_ticket_panel(watch_panel)
