"""/notifications/: a person's notifications, the bell's count, what they want to hear and how,
follow and mute, and the days they are away with their stand-in. Views parse and call one
service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit.actors import Actor
from config.errors import DomainError
from config.query import page_number
from notifications.forms import AwayForm, WatchForm
from notifications.kinds import KIND_SPECS, Delivery
from notifications.selectors import (
    UNREAD_CAP,
    notifications_of,
    person_time_zone,
    preference_rows,
    unread_count,
)
from notifications.services import notifications_mark_read, preferences_set, watch_set
from tenants.access import memberships_of
from tenants.away import membership_away_set
from tenants.models import INTERNAL_ROLES, Membership

PAGE_SIZE = 50


@login_required
def notification_list(request):
    paginator = Paginator(notifications_of(user=request.user), PAGE_SIZE)
    page = paginator.get_page(page_number(request.GET.get("page")))
    internal = memberships_of(request.user).filter(role__in=INTERNAL_ROLES).exists()
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread": unread_count(user=request.user),
            "nav": "notifications",
            # A client reads theirs inside the portal's frame.
            "base_template": "base.html" if internal else "approvals/portal/_base.html",
        },
    )


@login_required
def bell(request):
    """The header's count (htmx loads it after the page, so no page pays a query for it)."""
    count = unread_count(user=request.user)
    return render(request, "notifications/_bell.html", {"count": count, "cap": UNREAD_CAP})


@require_POST
@login_required
def mark_read(request):
    raw = request.POST.getlist("id")
    ids = [int(value) for value in raw if value.isdigit()] if raw else None
    changed = notifications_mark_read(user=request.user, ids=ids)
    if ids is None:
        messages.success(
            request, f"Marked {changed} notification{'s' if changed != 1 else ''} read."
        )
    return redirect(_safe_next(request, "notifications:list"))


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(default)


def _away_rows(user) -> list[dict]:
    rows = []
    for membership in memberships_of(user):
        colleagues = (
            Membership.objects.filter(tenant=membership.tenant, role=membership.role)
            .exclude(user=user)
            .select_related("user")
            .order_by("user__username")
        )
        rows.append(
            {
                "membership": membership,
                "colleagues": [m.user for m in colleagues],
            }
        )
    return rows


@login_required
def preferences(request):
    error = ""
    status = 200
    if request.method == "POST":
        choices = {
            kind: request.POST.get(f"kind_{kind}", "")
            for kind in KIND_SPECS
            if f"kind_{kind}" in request.POST
        }
        try:
            changed = preferences_set(
                user=request.user,
                actor=Actor.for_user(request.user),
                choices=choices,
                time_zone=request.POST.get("time_zone", "").strip(),
            )
        except DomainError as refused:
            error, status = refused.message, refused.status
        else:
            messages.success(
                request,
                "Saved your notification settings." if changed else "Nothing changed.",
            )
            return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {
            "rows": preference_rows(user=request.user),
            "deliveries": Delivery.choices,
            "time_zone": person_time_zone(user=request.user),
            "away_rows": _away_rows(request.user),
            "error": error,
            "nav": "notifications",
        },
        status=status,
    )


@require_POST
@login_required
def away(request):
    form = AwayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the days as dates (YYYY-MM-DD).")
        return redirect("notifications:preferences")
    membership = (
        memberships_of(request.user).filter(tenant__slug=form.cleaned_data["tenant"]).first()
    )
    if membership is None:
        raise Http404("No such tenant")
    name = form.cleaned_data["stand_in"].strip()
    stand_in = get_user_model().objects.filter(username=name).first() if name else None
    if name and stand_in is None:
        messages.error(request, f"Nobody is called {name!r}.")
        return redirect("notifications:preferences")
    try:
        membership_away_set(
            membership=membership,
            actor=Actor.for_user(request.user),
            away_from=form.cleaned_data["away_from"],
            away_until=form.cleaned_data["away_until"],
            stand_in=stand_in,
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        if form.cleaned_data["away_from"]:
            messages.success(
                request,
                f"Away in {membership.tenant.name} from {form.cleaned_data['away_from']} to "
                f"{form.cleaned_data['away_until']}: {stand_in.get_username()} stands in.",
            )
        else:
            messages.success(request, f"You are not away in {membership.tenant.name}.")
    return redirect("notifications:preferences")


@require_POST
@login_required
def watch(request):
    form = WatchForm(request.POST)
    if not form.is_valid():
        raise Http404("No such thing to follow")
    membership = (
        memberships_of(request.user).filter(tenant__slug=form.cleaned_data["tenant"]).first()
    )
    if membership is None:
        raise Http404("No such tenant")
    mode = form.cleaned_data["mode"]
    try:
        watch_set(
            user=request.user,
            tenant=membership.tenant,
            actor=Actor.for_user(request.user),
            target_type=form.cleaned_data["target_type"],
            target_id=form.cleaned_data["target_id"],
            mode=None if mode == "none" else mode,
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        what = f"{form.cleaned_data['target_type']} {form.cleaned_data['target_id']}"
        messages.success(
            request,
            {
                "follow": f"You follow {what}.",
                "mute": f"You muted {what}: you hear nothing of it but red flags.",
                "none": f"You no longer follow or mute {what}.",
            }[mode],
        )
    return redirect(_safe_next(request, "notifications:list"))
