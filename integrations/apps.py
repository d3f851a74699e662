from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.consumer import IntegrationsConsumer
        from notifications.outbox import register_outbox_consumer

        register_outbox_consumer(IntegrationsConsumer())
