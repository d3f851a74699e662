"""Ops metrics (per tenant, and across a person's tenants), the weekly track report (page,
printable page, CSV), the client's report in the portal and the CSV exports.

Thin views: parse the filters, scope to the person's tenants (another tenant is a 404), read,
render. The metrics region is a partial that htmx swaps when the range changes.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from approvals.filters import InboxFilter
from approvals.inbox import inbox_tickets
from config.query import filters_refused
from config.replicas import reads_from_replica, replica_reads, replica_stream
from config.sql import read_session
from metrics import board
from metrics.exports import csv_lines, csv_response, inbox_csv_lines, metric_csv_lines
from metrics.forms import RangeForm, WeekForm
from metrics.periods import last_full_week, ranges_for, week_of
from metrics.report import CSV_HEADER, report_rows, reported_tracks, weekly_report
from metrics.selectors import Scope
from plans.selectors import track_get
from tenants import selectors as tenants_selectors
from tenants.access import client_only, memberships_of, tenant_view
from tenants.admin_scope import is_platform
from tenants.roles import INTERNAL_ROLES, Role


# --- Ops metrics ----------------------------------------------------------------------------------
def _board(request: HttpRequest, *, tenants: list, zone: ZoneInfo):
    form = RangeForm(request.GET or None)
    values = form.values()
    ranges = ranges_for(
        first=values["start"],
        last=values["end"],
        today=timezone.localdate(timezone=zone),
        zone=zone,
    )
    scope = Scope(tenant_ids=tuple(t.pk for t in tenants), ranges=ranges, now=timezone.now())
    current_pcts = tenants_selectors.auto_approve_thresholds(tenant_ids=scope.tenant_ids)
    options = board.Options(by=values["by"], days=values["days"])
    return form, scope, options, current_pcts


def _metrics_page(request: HttpRequest, *, tenants: list, zone: ZoneInfo, many: bool):
    form, scope, options, current_pcts = _board(request, tenants=tenants, zone=zone)
    # The figures from the read replica when there is one; who may see them was read from the
    # primary (the membership checks above).
    with reads_from_replica(), read_session():
        metrics = board.build_all(
            scope, options=options, many_tenants=many, current_pcts=current_pcts
        )
    if not request.GET:
        # Show the range actually used in the form, so the dates can be moved from there.
        form = RangeForm(
            initial={
                "start": scope.ranges.current.first,
                "end": scope.ranges.current.last,
                "by": options.by,
                "days": options.days,
            }
        )
    internal = _internal_tenants(request.user)
    context = {
        "nav": "metrics",
        "form": form,
        "metrics": metrics,
        "ranges": scope.ranges,
        "tenants": tenants,
        "many": many,
        "time_zone": str(zone),
        "query": request.GET.urlencode(),
        "internal_tenant_count": len(internal),
        "platform_wide": many and not internal,  # a platform superuser's view (_all_tenants)
    }
    if request.htmx and request.htmx.target == "metrics-board":
        return render(request, "metrics/metrics.html#board", context)
    return render(request, "metrics/metrics.html", context)


def _internal_tenants(user) -> list:
    return [m.tenant for m in memberships_of(user) if m.role in INTERNAL_ROLES]


@tenant_view()
def tenant_metrics(request: HttpRequest) -> HttpResponse:
    return _metrics_page(
        request,
        tenants=[request.tenant],
        zone=ZoneInfo(request.tenant.time_zone),
        many=False,
    )


def _all_tenants(request: HttpRequest) -> tuple[list, ZoneInfo]:
    """A person's tenants where they hold an internal role; for a platform superuser (who runs
    the platform and sees every tenant in Django admin) every tenant, its days in UTC."""
    tenants = _internal_tenants(request.user)
    if not tenants and is_platform(request.user):
        tenants = tenants_selectors.tenants_in_order()
        if tenants:
            return tenants, ZoneInfo("UTC")
    if not tenants:
        raise Http404("No tenant to measure")
    current = request.tenant if request.tenant in tenants else tenants[0]
    return tenants, ZoneInfo(current.time_zone)


@login_required
def all_metrics(request: HttpRequest) -> HttpResponse:
    tenants, zone = _all_tenants(request)
    return _metrics_page(request, tenants=tenants, zone=zone, many=len(tenants) > 1)


def _metric_csv(request: HttpRequest, key: str, *, tenants: list, zone: ZoneInfo, name: str):
    if key not in board.METRIC_KEYS:
        raise Http404("No such metric")
    many = len(tenants) > 1
    form, scope, options, current_pcts = _board(request, tenants=tenants, zone=zone)
    refused = filters_refused(form)
    if refused is not None:
        return refused
    with reads_from_replica(), read_session():
        metric = board.build(
            key, scope, options=options, many_tenants=many, current_pcts=current_pcts
        )
    current = scope.ranges.current
    return csv_response(
        metric_csv_lines(
            metric,
            tz=zone,
            period_label=f"{current.first.isoformat()}..{current.last.isoformat()}",
            previous_label=f"{scope.ranges.previous.first.isoformat()}..{scope.ranges.previous.last.isoformat()}",
        ),
        f"{key}-{name}-{current.first.isoformat()}-{current.last.isoformat()}.csv",
    )


@tenant_view()
def tenant_metric_csv(request: HttpRequest, key: str) -> HttpResponse:
    return _metric_csv(
        request,
        key,
        tenants=[request.tenant],
        zone=ZoneInfo(request.tenant.time_zone),
        name=request.tenant.slug,
    )


@login_required
def all_metric_csv(request: HttpRequest, key: str) -> HttpResponse:
    tenants, zone = _all_tenants(request)
    return _metric_csv(request, key, tenants=tenants, zone=zone, name="all-tenants")


# --- The inbox as CSV -----------------------------------------------------------------------------
@login_required
def inbox_csv(request: HttpRequest) -> HttpResponse:
    """The dashboard's inbox with the filters it shows (status open unless asked otherwise)."""
    memberships = [m for m in memberships_of(request.user) if m.role in INTERNAL_ROLES]
    if not memberships:
        raise Http404("No inbox")
    data = request.GET.copy()
    data.setdefault("status", "open")
    filterset = InboxFilter(
        data,
        queryset=inbox_tickets(user=request.user),
        request=request,
        tenants=tenants_selectors.tenants_by_ids(tenant_ids=[m.tenant_id for m in memberships]),
        memberships=memberships,
    )
    tenant = request.tenant or memberships[0].tenant
    zone = ZoneInfo(tenant.time_zone)
    stamp = tenant.today().isoformat()
    return csv_response(
        replica_stream(inbox_csv_lines(filterset.qs, tz=zone)), f"inbox-{stamp}.csv"
    )


# --- The weekly report ----------------------------------------------------------------------------
def _week(request: HttpRequest, tenant):
    """The week asked for (the last full week when none, or one the form can't read: the page
    says why), the tenant's today, and the form."""
    form = WeekForm(request.GET or None)
    asked = form.cleaned_data.get("week") if form.is_valid() else None
    today = tenant.today()
    return week_of(asked) if asked else last_full_week(today), today, form


def _report_context(request, *, tenant, track_key: str, client_safe: bool) -> dict:
    track = track_get(tenant=tenant, key=track_key)
    week_start, today, week_form = _week(request, tenant)
    report = weekly_report(track=track, week_start=week_start, client_safe=client_safe)
    previous = week_start.fromordinal(week_start.toordinal() - 7)
    following = week_start.fromordinal(week_start.toordinal() + 7)
    return {
        "report": report,
        "track": track,
        "tenant": tenant,
        "previous_week": previous,
        "next_week": following if following <= week_of(today) else None,
        "week_start": week_start,
        "week_form": week_form,
    }


@tenant_view()
@replica_reads
def weekly(request: HttpRequest, track: str) -> HttpResponse:
    context = _report_context(request, tenant=request.tenant, track_key=track, client_safe=False)
    context.update(nav="plans", printable="print" in request.GET)
    template = "metrics/report_print.html" if context["printable"] else "metrics/report.html"
    return render(request, template, context)


@tenant_view()
@replica_reads
def weekly_csv(request: HttpRequest, track: str) -> HttpResponse:
    refused = filters_refused(WeekForm(request.GET or None))
    if refused is not None:
        return refused
    context = _report_context(request, tenant=request.tenant, track_key=track, client_safe=False)
    report = context["report"]
    name = (
        f"weekly-{request.tenant.slug}-{report.track.key}-{context['week_start'].isoformat()}.csv"
    )
    return csv_response(
        csv_lines(CSV_HEADER, report_rows(report), ZoneInfo(request.tenant.time_zone)), name
    )


# --- The client's report in the portal ------------------------------------------------------------
def _client_tenant(request: HttpRequest, slug: str):
    membership = memberships_of(request.user).filter(tenant__slug=slug, role=Role.CLIENT).first()
    if membership is None:
        raise Http404("No such report")
    return membership.tenant


@client_only
def portal_reports(request: HttpRequest) -> HttpResponse:
    tenants = [m.tenant for m in memberships_of(request.user) if m.role == Role.CLIENT]
    tracks = [(tenant, reported_tracks(tenant)) for tenant in tenants]
    return render(
        request, "metrics/portal/reports.html", {"tracks": tracks, "portal_nav": "reports"}
    )


@client_only
def portal_report(request: HttpRequest, tenant: str, track: str) -> HttpResponse:
    tenant_row = _client_tenant(request, tenant)
    with reads_from_replica():
        context = _report_context(request, tenant=tenant_row, track_key=track, client_safe=True)
    if context["report"].version is None:
        raise Http404("No approved plan to report on")
    context.update(portal_nav="reports", printable="print" in request.GET)
    return render(request, "metrics/portal/report.html", context)
