from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Agent API plumbing"

    def ready(self):
        from api import checks  # noqa: F401  (registers the API_RATE_LIMIT check)
