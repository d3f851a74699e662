from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.actors import Actor
from tenants.models import Membership, Tenant, TenantPolicy
from tenants.policy import FLAT_DEFAULTS
from tenants.services import tenant_policy_update


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "vertical", "country", "time_zone"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]


@admin.register(TenantPolicy)
class TenantPolicyAdmin(SimpleHistoryAdmin):
    """Edits go through tenant_policy_update, so the admin refuses what the service refuses
    (the form's clean() already shows the ceiling message) and every change is audited."""

    list_display = ["tenant", "tool_rounds_max", "trip_multiplier", "sla_approval_days"]
    readonly_fields = ["tenant", "updated_at"]

    def has_add_permission(self, request):
        return False  # created with its tenant

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = {key: form.cleaned_data[key] for key in form.changed_data if key in FLAT_DEFAULTS}
        tenant_policy_update(tenant=obj.tenant, actor=Actor.for_user(request.user), changes=changes)
