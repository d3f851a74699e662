"""Django admin for plans: read-only (services are the only writers; approved versions are frozen
by the database anyway). Admins look things up here; changes go through the dashboard."""

from __future__ import annotations

from django.contrib import admin

from plans.models import MasterPlan, PlanVersion, Track
from tenants.admin_scope import TenantScopedAdmin


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MasterPlan)
class MasterPlanAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "period_start", "period_end", "currency", "total_budget"]
    list_filter = ["tenant"]


@admin.register(Track)
class TrackAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "key", "current_version", "created_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant", "current_version"]


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "number", "track", "kind", "status", "approved_by", "approved_at"]
    list_filter = ["tenant", "status", "kind"]
    search_fields = ["payload_hash", "reason"]
    list_select_related = ["tenant", "track"]
    ordering = ["tenant", "-number"]
