"""Django admin scoped to the tenants a person administers (docs/rules.md "Who uses it": a tenant
admin's admin pages cover only the tenants it administers).

Every ModelAdmin of the product derives from `TenantScopedAdmin`. For a platform superuser
(made with `createsuperuser`) nothing changes. For a staff user who is not a superuser:

- they see an admin page only if they hold the admin role in some tenant — no Django model
  permissions are needed, the tenant role is the permission;
- every list, change page and action covers only the rows of their tenants (`tenant_field` names
  the path to the tenant; another tenant's row is a 404, as everywhere — its history pages too);
- every choice of a tenant (a foreign key to Tenant) offers only their tenants, and a user choice
  only people of their tenants;
- adding is refused where the model says only the platform adds (`platform_adds = True`).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404

from tenants.models import Membership, Role, Tenant


def administered_tenant_ids(user) -> QuerySet:
    return Membership.objects.filter(user=user, role=Role.ADMIN).values("tenant_id")


def is_platform(user) -> bool:
    return user.is_active and user.is_superuser


def is_tenant_admin(user) -> bool:
    return (
        user.is_active
        and user.is_staff
        and Membership.objects.filter(user=user, role=Role.ADMIN).exists()
    )


class TenantScopedAdmin(admin.ModelAdmin):
    tenant_field = "tenant"  # the path from a row to its tenant ("ticket__tenant", "" for Tenant)
    platform_adds = False  # only platform superusers may add rows of this model

    # --- What a tenant admin may see and do --------------------------------------------------
    def _may_use(self, request) -> bool:
        return is_platform(request.user) or is_tenant_admin(request.user)

    def has_module_permission(self, request) -> bool:
        return self._may_use(request)

    def has_view_permission(self, request, obj=None) -> bool:
        if is_platform(request.user):
            return super().has_view_permission(request, obj)
        return is_tenant_admin(request.user) and (obj is None or self._in_scope(request, obj))

    def has_change_permission(self, request, obj=None) -> bool:
        if is_platform(request.user):
            return super().has_change_permission(request, obj)
        return is_tenant_admin(request.user) and (obj is None or self._in_scope(request, obj))

    def has_add_permission(self, request, *args) -> bool:
        if is_platform(request.user):
            return super().has_add_permission(request, *args)
        return not self.platform_adds and is_tenant_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        if is_platform(request.user):
            return super().has_delete_permission(request, obj)
        return is_tenant_admin(request.user) and (obj is None or self._in_scope(request, obj))

    # --- Rows and choices ----------------------------------------------------------------------
    def scope(self, request, rows: QuerySet) -> QuerySet:
        if is_platform(request.user):
            return rows
        tenants = administered_tenant_ids(request.user)
        lookup = f"{self.tenant_field}__in" if self.tenant_field else "pk__in"
        return rows.filter(**{lookup: tenants})

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def _in_scope(self, request, obj) -> bool:
        return self.scope(request, type(obj)._default_manager.filter(pk=obj.pk)).exists()

    # --- History pages -------------------------------------------------------------------------
    def _in_reach_or_404(self, request, object_id) -> None:
        """Another tenant's row is a 404 on its history pages too. (Django would redirect, and
        django-simple-history would find the row through its history and answer 403 — which
        says the row exists.)"""
        if not is_platform(request.user) and self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such row in the tenants you administer.")

    def history_view(self, request, object_id, extra_context=None):
        self._in_reach_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """One past version (django-simple-history's page, on the admins that have it)."""
        self._in_reach_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not is_platform(request.user):
            if db_field.related_model is Tenant:
                kwargs["queryset"] = Tenant.objects.filter(
                    pk__in=administered_tenant_ids(request.user)
                )
            elif db_field.related_model is get_user_model():
                kwargs["queryset"] = (
                    get_user_model()
                    .objects.filter(memberships__tenant__in=administered_tenant_ids(request.user))
                    .distinct()
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        # A tenant filter would list every tenant's name: only the platform gets it.
        filters = super().get_list_filter(request)
        if is_platform(request.user):
            return filters
        return [f for f in filters if f != "tenant"]


class TenantScopedInline(admin.TabularInline):
    """An inline under a scoped admin: it shows only what its parent page already scopes."""

    def has_view_permission(self, request, obj=None) -> bool:
        return is_platform(request.user) or is_tenant_admin(request.user)
