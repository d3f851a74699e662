"""Django admin for tenants, memberships and policies. Every save and delete goes through the
services, so the admin refuses what they refuse and every change lands in the audit log. Django
runs a change form's save and a delete page in a transaction of its own, so they call the
services' `_within` steps; the changelist's actions run in none and call the entry points
(config/transactions.py)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.actors import Actor
from tenants.admin_scope import TenantScopedAdmin, TenantScopedInline
from tenants.models import Membership, Tenant, TenantPolicy
from tenants.policy import FLAT_DEFAULTS
from tenants.services import (
    TENANT_EDITABLE_FIELDS,
    membership_remove,
    membership_remove_within,
    membership_set_within,
    tenant_create_within,
    tenant_policy_update_within,
    tenant_update_within,
)


class MembershipInline(TenantScopedInline):
    """Who belongs to the tenant, read only here: roles are given and taken in Memberships,
    whose saves are audited."""

    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = ""  # the row is the tenant
    platform_adds = True  # tenant admins administer their tenants; the platform creates them
    list_display = ["slug", "name", "vertical", "country", "time_zone"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The audit retention is shown, not edited here: shortening it takes history out of the
        # database (audit/retention.py), a decision for the operator with the shell.
        fixed = ["created_at", "audit_retention_years"]
        return ["slug", *fixed] if obj else fixed

    def has_delete_permission(self, request, obj=None):
        return False  # a tenant's audit log outlives everything; nothing deletes a tenant

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        if change:
            changes = {k: form.cleaned_data[k] for k in form.changed_data}
            tenant_update_within(tenant=obj, actor=actor, changes=changes)
            return
        created = tenant_create_within(
            slug=obj.slug, actor=actor, **{k: getattr(obj, k) for k in TENANT_EDITABLE_FIELDS}
        )
        # The admin goes on with `obj` (its redirect, its log entry): make it the saved row.
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "tenant"] if obj else []

    def save_model(self, request, obj, form, change):
        saved = membership_set_within(
            tenant=obj.tenant, user=obj.user, role=obj.role, actor=Actor.for_user(request.user)
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        membership_remove_within(membership=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = Actor.for_user(request.user)
        for membership in queryset:
            membership_remove(membership=membership, actor=actor)


@admin.register(TenantPolicy)
class TenantPolicyAdmin(TenantScopedAdmin, SimpleHistoryAdmin):
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
        tenant_policy_update_within(
            tenant=obj.tenant, actor=Actor.for_user(request.user), changes=changes
        )
