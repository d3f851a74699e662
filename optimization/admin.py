"""Django admin for optimization: the manifest, the optimization log, recommendations and
performance rows read-only (agents and the scan write them through the services); the
seasonality calendar editable, every add and delete going through its service so it is checked
and audited like the page's.

A staff member who is not a superuser sees only the tenants they administer (docs/rules.md "Who uses
it": a tenant admin's admin pages cover only their tenants).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from approvals.models import Ticket
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from config.errors import DomainError
from optimization.models import (
    ChangeSet,
    ChangeSetEvent,
    ChangeSetItem,
    ExecutionManifestEntry,
    PerformanceRow,
    PlatformAccount,
    Recommendation,
    Reconciliation,
    SeasonalChange,
)
from optimization.services import (
    seasonal_change_remove,
    seasonal_change_remove_within,
    seasonal_change_set_within,
)
from optimization.views_queries import plan_channels
from plans.models import Track
from tenants.access import scope_to_user
from tenants.admin_scope import TenantScopedAdmin, TenantScopedInline
from tenants.models import Role


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(TenantScopedInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExecutionManifestEntry)
class ExecutionManifestEntryAdmin(ReadOnlyAdmin):
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


class ChangeSetItemInline(ReadOnlyInline):
    model = ChangeSetItem
    fields = ["position", "entity_id", "channel", "field", "before", "after"]
    readonly_fields = fields


class ChangeSetEventInline(ReadOnlyInline):
    model = ChangeSetEvent
    fields = ["at", "kind", "actor", "message"]
    readonly_fields = fields


@admin.register(ChangeSet)
class ChangeSetAdmin(ReadOnlyAdmin):
    list_display = [
        "change_set_id",
        "tenant",
        "track",
        "agent",
        "kind",
        "status",
        "ticket",
        "created_at",
    ]
    list_filter = ["tenant", "status", "kind", "path"]
    search_fields = ["change_set_id", "agent", "run_id", "ticket"]
    list_select_related = ["tenant", "track"]
    date_hierarchy = "created_at"
    inlines = [ChangeSetItemInline, ChangeSetEventInline]


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "track", "signal", "path", "status", "ticket", "draft_number"]
    list_filter = ["tenant", "signal", "status", "path"]
    search_fields = ["ticket", "reason", "subject_key"]
    list_select_related = ["tenant", "track"]
    date_hierarchy = "created_at"


@admin.register(PerformanceRow)
class PerformanceRowAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "track", "date", "channel", "source", "spend", "conversions"]
    list_filter = ["tenant", "source", "channel"]
    list_select_related = ["tenant", "track"]
    date_hierarchy = "date"


class SeasonalChangeForm(forms.ModelForm):
    class Meta:
        model = SeasonalChange
        fields = ["track", "channel", "starts_on", "ends_on", "budget", "note"]

    def clean(self):
        cleaned = super().clean()
        track, channel = cleaned.get("track"), (cleaned.get("channel") or "").strip().lower()
        if track is not None and channel and channel not in plan_channels(track):
            self.add_error(
                "channel",
                f"{track.key} has no channel {channel!r} in its approved plan; a new channel is "
                "a replan, not a seasonal flight change.",
            )
        return cleaned


@admin.register(SeasonalChange)
class SeasonalChangeAdmin(TenantScopedAdmin):
    """Entries are added and removed (each through its audited service), never edited: a
    changed flight is a new entry."""

    form = SeasonalChangeForm
    list_display = ["track", "channel", "starts_on", "ends_on", "budget", "note", "created_by"]
    list_filter = ["tenant", "channel"]
    list_select_related = ["track"]
    date_hierarchy = "starts_on"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "track":
            tracks = Track.objects.select_related("tenant").order_by("tenant__slug", "key")
            if not request.user.is_superuser:
                tracks = scope_to_user(tracks, request.user, roles=[Role.ADMIN])
            kwargs["queryset"] = tracks
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        # Inside the admin change form's own transaction: the service's step, not its entry
        # point (config/transactions.py).
        saved = seasonal_change_set_within(
            track=data["track"],
            channel=data["channel"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            budget=data["budget"],
            note=data["note"],
            actor=Actor.for_user(request.user),
        )
        # The admin goes on with `obj` (its redirect, its log entry): make it the saved row.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):  # inside the delete page's transaction
        seasonal_change_remove_within(change=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):  # the changelist's action: no transaction
        actor = Actor.for_user(request.user)
        for change in queryset.select_related("track"):
            seasonal_change_remove(change=change, actor=actor)


@admin.register(PlatformAccount)
class PlatformAccountAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "platform", "kind", "external_id", "state", "ticket", "ready_at"]
    list_filter = ["tenant", "state", "kind", "platform"]
    search_fields = ["external_id", "ticket"]
    list_select_related = ["tenant"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """The reconciliations `reconcile` found. Deciding one here is deciding its A6: the same
    ticket decision as on the ticket page, in the admin's role (approve accepts the platform's
    value, reject restores the manifest's)."""

    list_display = ["tenant", "track", "manifest_entry", "status", "ticket", "opened_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["ticket", "manifest_entry__entity_id"]
    list_select_related = ["tenant", "track", "manifest_entry"]
    actions = ["accept_platform_value", "restore_manifest_value"]

    def _decide(self, request, queryset, verdict: str, comment: str) -> None:
        actor = Actor.for_user(request.user)
        for reconciliation in queryset.order_by("pk"):
            ticket = Ticket.objects.filter(
                tenant_id=reconciliation.tenant_id, public_id=reconciliation.ticket
            ).first()
            if ticket is None or not reconciliation.is_open:
                self.message_user(
                    request, f"{reconciliation} is not waiting for a decision.", messages.WARNING
                )
                continue
            try:
                ticket_decide(ticket=ticket, actor=actor, verdict=verdict, comment=comment)
            except DomainError as exc:
                self.message_user(
                    request, f"{ticket.public_id} not decided: {exc.message}", messages.ERROR
                )
            else:
                self.message_user(request, f"{ticket.public_id}: {comment}", messages.SUCCESS)

    @admin.action(description="Accept the platform's value (approve the A6)")
    def accept_platform_value(self, request, queryset):
        self._decide(
            request, queryset, Verdict.APPROVE, "Platform's value accepted in Django admin."
        )

    @admin.action(description="Restore the manifest's value (reject the A6)")
    def restore_manifest_value(self, request, queryset):
        self._decide(
            request, queryset, Verdict.REJECT, "Manifest's value to be restored (Django admin)."
        )
