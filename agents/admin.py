from django.conf import settings
from django.contrib import admin, messages

from agents.models import AgentKey
from agents.services import agent_key_revoke
from audit.actors import Actor
from tenants.admin_scope import TenantScopedAdmin


@admin.register(AgentKey)
class AgentKeyAdmin(TenantScopedAdmin):
    """Keys are created with `manage.py agent_key_create` (the key is printed once); here they
    can be seen and revoked, never read back."""

    list_display = ["name", "tenant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for key in active:
            agent_key_revoke(key=key, actor=Actor.for_user(request.user))
        messages.success(
            request,
            f"Revoked {len(active)} key(s); they stop working within "
            f"{settings.AGENT_KEY_CACHE_SECONDS:g} s.",
        )
