"""`manage.py check --deploy`: production signs checkpoints with a key of its own."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def audit_signing_key_configured(app_configs, **kwargs):
    if settings.AUDIT_SIGNING_KEY or settings.AUDIT_SIGNING_KEY_FILE:
        return []
    return [
        Warning(
            "No AUDIT_SIGNING_KEY: the audit log's checkpoints are not signed, and a rewrite by "
            "whoever holds the database would go unnoticed.",
            hint="Make one with `manage.py audit_checkpoint --new-key NAME` and set "
            "AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE).",
            id="audit.W001",
        )
    ]
