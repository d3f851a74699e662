from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Project-wide commands that reach every app: `seed_demo` (each app's demo part, in order)
    and `setup_schedules` (each app's django-q2 schedules). Above every app in the layers, with
    ordinary imports the import-linter contracts see; nothing imports it."""

    name = "ops"
