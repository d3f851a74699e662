from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    name = "optimization"

    def ready(self) -> None:
        from optimization.selectors import manifest_entries_as_dicts
        from plans.live import register_live_entries

        register_live_entries(manifest_entries_as_dicts)
