from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Ops metrics, the weekly track report and the exports: reads every domain, and nothing
    imports it (DESIGN.md "Shape of the code")."""

    name = "metrics"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from config.sql import register_sqlite_functions

        connection_created.connect(register_sqlite_functions)
