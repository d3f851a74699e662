from django.db import models


class AgentKey(models.Model):
    """A per-tenant API key. Only its SHA-256 is stored; the key is shown once, at creation.

    The key reads `ht_<prefix>_<secret>`: the prefix finds the row, the hash proves the secret.
    """

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="agent_keys"
    )
    name = models.CharField(max_length=100, help_text="the agent or service using it")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant.slug}, ht_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
