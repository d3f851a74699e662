from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Project-wide operations that reach every app: `seed_demo` (each app's demo part, in
    order), `setup_schedules` (each app's django-q2 schedules), and the cluster's heartbeat behind
    `/healthz`. Above every app in the layers, with ordinary imports the import-linter contracts
    see; nothing imports it but the URL configuration."""

    name = "ops"
    verbose_name = "Operations"
