"""Django admin for the execution manifest: read-only (agents sync it through the API)."""

from __future__ import annotations

from django.contrib import admin

from optimization.models import ExecutionManifestEntry


@admin.register(ExecutionManifestEntry)
class ExecutionManifestEntryAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "track",
        "platform",
        "entity_id",
        "channel",
        "plan_version",
        "updated_at",
    ]
    list_filter = ["tenant", "platform", "channel"]
    search_fields = ["entity_id"]
    list_select_related = ["tenant", "track"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
