from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self):
        # The login throttle's signal receivers (lockouts recorded, known login addresses).
        from tenants import throttle  # noqa: F401
