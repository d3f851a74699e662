"""Django admin for tickets: read-only views (services are the only writers) and the A6 manual
override, which asks for a reason on an intermediate page before it does anything."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from approvals.models import Ticket, TicketComment, TicketDecision
from approvals.services import TicketError, ticket_override
from audit.actors import Actor
from config.text import REASON_MAX, StorableTextField
from tenants.admin_scope import TenantScopedAdmin, TenantScopedInline


class OverrideForm(forms.Form):
    reason = StorableTextField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=REASON_MAX,
        help_text="Recorded on the A6 ticket and in the audit log.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why you override.")
        return reason


class ReadOnlyInline(TenantScopedInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DecisionInline(ReadOnlyInline):
    model = TicketDecision
    fields = ["created_at", "user", "role", "slot", "verdict", "comment"]
    readonly_fields = fields


class CommentInline(ReadOnlyInline):
    model = TicketComment
    fields = ["created_at", "author_label", "body"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(TenantScopedAdmin):
    list_display = [
        "public_id",
        "type",
        "status",
        "tenant",
        "title",
        "sla_due_at",
        "escalation_level",
        "created_at",
    ]
    list_filter = [
        "status",
        "type",
        "tenant",
        "client_visible",
        "escalation_level",
        "sla_kind",
        "platform",
    ]
    search_fields = ["public_id", "title", "subject_id", "change_set_id", "run_id"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]
    actions = ["manual_override"]
    inlines = [DecisionInline, CommentInline]

    def has_add_permission(self, request):
        return False  # tickets are opened by the product, not typed in

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Manual override (A6) of the selected open tickets")
    def manual_override(self, request, queryset):
        form = OverrideForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = Actor.for_user(request.user)
            for ticket in queryset.order_by("id"):
                try:
                    override = ticket_override(
                        ticket=ticket, actor=actor, reason=form.cleaned_data["reason"]
                    )
                except TicketError as exc:
                    self.message_user(
                        request, f"{ticket.public_id} not overridden: {exc.message}", messages.ERROR
                    )
                else:
                    self.message_user(
                        request,
                        f"{ticket.public_id} approved by manual override {override.public_id}.",
                        messages.SUCCESS,
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Manual override (A6)",
            "opts": self.model._meta,
            "tickets": queryset.select_related("tenant").order_by("id"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/approvals/ticket/override.html", context)


@admin.register(TicketDecision)
class TicketDecisionAdmin(TenantScopedAdmin):
    tenant_field = "ticket__tenant"

    list_display = ["ticket", "verdict", "role", "user", "created_at"]
    list_filter = ["verdict", "role"]
    search_fields = ["ticket__public_id", "user__username"]
    list_select_related = ["ticket", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketComment)
class TicketCommentAdmin(TenantScopedAdmin):
    tenant_field = "ticket__tenant"

    list_display = ["ticket", "author_label", "created_at"]
    search_fields = ["ticket__public_id", "body"]
    list_select_related = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
