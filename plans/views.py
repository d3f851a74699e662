"""The plan pages: overview, track timeline, version, draft editor (with the live verdict), compare.

Thin views: parse, check the role, call one service, render. Internal roles read; only planners
create, edit, submit and withdraw drafts. Another tenant's track or version is a 404.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.actors import Actor
from config.errors import DomainError, page_error
from plans import selectors
from plans import views_queries as q
from plans.diff import diff_is_empty
from plans.errors import PlanStateError
from plans.forms import DraftReasonForm, EnvelopeProposalForm, PlanPayloadForm
from plans.live import version_entries
from plans.models import TRACK_KEY_PATTERN, PlanKind, Track
from plans.services import (
    plan_version_carry_forward,
    plan_version_create_draft,
    plan_version_discard,
    plan_version_edit,
    plan_version_propose_envelope,
    plan_version_submit,
    plan_version_withdraw,
)
from tenants.access import tenant_view
from tenants.models import Role

PLANNERS = (Role.PLANNER,)


def _can_plan(request: HttpRequest) -> bool:
    return request.membership.role == Role.PLANNER


def _with_approvals(tenant, versions: list) -> None:
    """Each approved version with everyone who approved it (plans/_approvers.html), read at once."""
    approvals = selectors.versions_approvals(tenant_id=tenant.pk, versions=versions)
    for version in versions:
        version.approvals = approvals[version.number]


@tenant_view()
def overview(request: HttpRequest) -> HttpResponse:
    plan = selectors.plan_overview(tenant=request.tenant)
    _with_approvals(request.tenant, [row.current for row in plan.tracks if row.current])
    return render(
        request,
        "plans/overview.html",
        {
            "nav": "plans",
            "tracks": plan.tracks,
            "envelope": q.envelope_use(plan),
            "can_plan": _can_plan(request),
        },
    )


@tenant_view(roles=PLANNERS)
def track_start(request: HttpRequest) -> HttpResponse:
    """The overview's "Start a new track" form: on to the first draft of the named track."""
    typed = request.GET.get("key", "").strip()
    key = typed.lower()
    if not re.fullmatch(TRACK_KEY_PATTERN, key):
        messages.error(
            request,
            f"{key or 'An empty name'!r} is not a track name: use branding, engagement or "
            "event_<slug> (lower-case letters, digits, _).",
        )
        # Back to the overview with the refused name still in its box, to be corrected.
        overview = reverse("plans:overview", args=[request.tenant.slug])
        return redirect(f"{overview}?{urlencode({'key': typed})}#id_track_key")
    return redirect("plans:draft_new", request.tenant.slug, key)


@tenant_view()
def timeline(request: HttpRequest, track: str) -> HttpResponse:
    track_row = selectors.track_get(tenant=request.tenant, key=track)
    versions = list(selectors.track_timeline(tenant=request.tenant, key=track))
    _with_approvals(request.tenant, versions)
    current = track_row.current_version
    # Preselect the most telling pair: the current version against the one it superseded.
    compare_b = versions[0].number if versions else None
    compare_a = versions[1].number if len(versions) > 1 else None
    if current is not None and current.parent_id:
        compare_a, compare_b = current.parent.number, current.number
    return render(
        request,
        "plans/timeline.html",
        {
            "nav": "plans",
            "track": track_row,
            "versions": versions,
            "current": current,
            "compare_a": compare_a,
            "compare_b": compare_b,
            "gaps": q.number_gaps(versions),
            "can_plan": _can_plan(request),
        },
    )


@tenant_view()
def version_detail(request: HttpRequest, number: int) -> HttpResponse:
    return _version_page(request, number)


def _entries_now_and_before(version) -> dict:
    """The entities implementing the version today, and those that did and moved on (with from
    and to dates: issue 16 item 6)."""
    entries = version_entries(version)
    return {
        "version_entries": [e for e in entries if e["until"] is None],
        "past_entries": [e for e in entries if e["until"] is not None],
    }


def _envelope_form(proposal: dict | None, data=None) -> EnvelopeProposalForm | None:
    if proposal is None:
        return None
    return EnvelopeProposalForm(
        data, initial=proposal["initial"], tracks=proposal["tracks"], capped=proposal["capped"]
    )


def _version_page(
    request: HttpRequest,
    number: int,
    *,
    envelope_form: EnvelopeProposalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    detail = selectors.version_detail(tenant=request.tenant, number=number)
    version = detail["version"]
    can_plan = _can_plan(request)
    proposal = (
        q.envelope_proposal(version) if version.master_change or version.is_editable else None
    )
    if envelope_form is None and can_plan and version.is_editable:
        envelope_form = _envelope_form(proposal)
    return render(
        request,
        "plans/version.html",
        {
            **detail,
            "nav": "plans",
            "track": version.track,
            "is_current": version.track.current_version_id == version.pk,
            "diff_empty": diff_is_empty(detail["diff"]),
            "currency": version.currency,
            "audit_title": f"Audit trail of v{version.number}",
            "can_plan": can_plan,
            **_entries_now_and_before(version),
            "envelope": proposal,
            "envelope_form": envelope_form,
            "built_on_id": version.parent_id,
        },
        status=status,
    )


# --- Draft editor --------------------------------------------------------------------------------
def _classification(
    *, request: HttpRequest, track: Track | None, track_key: str, form, kind: str
) -> dict | None:
    """The classification of the form as it stands, as the editor's live Verdict line shows it;
    None while the form has errors (the form's `corrections` then say what to fix).

    Drafts are always compared with the track's current approved version (editing a draft
    rebases it there), exactly as the create and edit services check them.
    """
    if not form.is_valid():
        return None
    classification = selectors.draft_classification(
        tenant=request.tenant, track=track, track_key=track_key, payload=form.payload
    )
    accepts = not kind or classification.accepts(kind)
    return {
        "path": classification.path.value,
        "reason": classification.reason,
        "accepts": accepts,
        "kind_conflict": "" if accepts else classification.contradiction(kind),
    }


def _editor_state(
    *, request: HttpRequest, track: Track | None, track_key: str, form, kind: str, action: str
) -> dict:
    """The verdict and what the form shows: a row button (add or remove a row) validates
    nothing new — empty fields are fields to fill in, not errors — while a save shows every
    error. Either way the verdict names what still keeps it from answering."""
    classification = _classification(
        request=request, track=track, track_key=track_key, form=form, kind=kind
    )
    saving = not form.is_row_action(action) and request.method == "POST"
    corrections = None if classification else form.corrections(blanks_shown=saving)
    if not saving:
        form.hide_errors_of_blank_fields()
    return {"form": form, "verdict": classification, "corrections": corrections}


def _render_editor(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole page, or only the form when htmx swaps it after an add/remove row button."""
    template = "plans/editor.html#editor" if request.htmx else "plans/editor.html"
    return render(request, template, {"nav": "plans", **context}, status=status)


def _track_key_or_404(key: str) -> str:
    if not re.fullmatch(TRACK_KEY_PATTERN, key):
        raise Http404("No such track")
    return key


@tenant_view(roles=PLANNERS)
def draft_new(request: HttpRequest, track: str) -> HttpResponse:
    """A new draft vN+1 from the track's current version (or a new track's first plan)."""
    # Long on purpose: the GET and POST of the new-draft form with its two cases (a track's next
    # version, a new track's first plan) and their messages.
    track_key = _track_key_or_404(track)
    track_row = selectors.track_or_none(tenant=request.tenant, key=track_key)
    base = track_row.current_version if track_row else None
    slug = request.tenant.slug
    context = {
        "track_name": track_key,
        "base": base,
        "version": None,
        "kind_choices": PlanKind.choices,
        "action_url": reverse("plans:draft_new", args=[slug, track_key]),
        "verdict_url": reverse("plans:verdict", args=[slug, track_key]),
        "cancel_url": reverse("plans:timeline", args=[slug, track_key])
        if track_row
        else reverse("plans:overview", args=[slug]),
        "save_label": f"Create draft for {track_key}",
        "competitors": selectors.track_open_versions(track_id=track_row.pk if track_row else None),
        "built_on_id": base.pk if base else None,
    }
    if request.method != "POST":
        form = PlanPayloadForm(payload=base.payload if base else None)
        state = _editor_state(
            request=request, track=track_row, track_key=track_key, form=form, kind="", action=""
        )
        shown = state["verdict"]
        default_kind = shown["path"] if shown and shown["path"] in PlanKind.values else ""
        context.update(state, kind=default_kind, reason="")
        return _render_editor(request, context)

    form = PlanPayloadForm(data=request.POST)
    reason_form = DraftReasonForm(data=request.POST)
    kind = request.POST.get("kind", "")
    action = request.POST.get("action", "save")
    if form.is_row_action(action):
        form.apply_row_action(action)
    state = _editor_state(
        request=request, track=track_row, track_key=track_key, form=form, kind=kind, action=action
    )
    shown = state["verdict"]
    context.update(state, kind=kind, reason=reason_form.data.get("reason", "").strip())
    if form.is_row_action(action):
        return _render_editor(request, context)
    kind_errors = []
    if kind not in PlanKind.values:
        kind_errors.append("Choose the kind of draft.")
    elif shown is not None and not shown["accepts"]:
        kind_errors.append(shown["kind_conflict"])
    reason_errors = [] if reason_form.is_valid() else reason_form.errors["reason"]
    if form.errors or kind_errors or reason_errors:
        context.update(kind_errors=kind_errors, reason_errors=reason_errors)
        return _render_editor(request, context, status=422)
    try:
        version = plan_version_create_draft(
            tenant=request.tenant,
            track_key=track_key,
            kind=kind,
            payload=form.payload,
            reason=reason_form.cleaned_data["reason"],
            actor=Actor.for_user(request.user),
        )
    except DomainError as exc:
        return _render_editor(request, {**context, "kind_errors": exc.errors}, status=422)
    messages.success(request, f"Draft v{version.number} created for {track_key}.")
    return redirect("plans:version", slug, version.number)


@tenant_view(roles=PLANNERS)
def version_edit(request: HttpRequest, number: int) -> HttpResponse:
    version = selectors.version_get(tenant=request.tenant, number=number)
    slug = request.tenant.slug
    if not version.is_editable:
        messages.error(
            request,
            f"v{version.number} is {version.get_status_display().lower()}: "
            "only drafts can be edited.",
        )
        return redirect("plans:version", slug, version.number)
    track_row = version.track
    context = {
        "track_name": track_row.key,
        "base": track_row.current_version,
        "version": version,
        "kind": version.kind,
        "action_url": reverse("plans:edit", args=[slug, version.number]),
        "verdict_url": reverse("plans:verdict", args=[slug, track_row.key]),
        "cancel_url": reverse("plans:version", args=[slug, version.number]),
        "save_label": f"Save draft v{version.number}",
        # Saving rebases the draft on the current version.
        "competitors": selectors.version_competitors(version),
        "built_on_id": track_row.current_version_id,
    }
    if request.method != "POST":
        form = PlanPayloadForm(payload=version.payload)
    else:
        form = PlanPayloadForm(data=request.POST)
    action = request.POST.get("action", "save")
    if form.is_row_action(action):
        form.apply_row_action(action)
    context.update(
        _editor_state(
            request=request,
            track=track_row,
            track_key=track_row.key,
            form=form,
            kind=version.kind,
            action=action,
        )
    )
    if request.method != "POST" or form.is_row_action(action):
        return _render_editor(request, context)
    if form.errors:
        return _render_editor(request, context, status=422)
    try:
        plan_version_edit(version=version, payload=form.payload, actor=Actor.for_user(request.user))
    except DomainError as exc:
        for message in exc.errors:
            form.add_error("__all__", message)
        return _render_editor(request, context, status=422)
    messages.success(request, f"Draft v{version.number} saved.")
    return redirect("plans:version", slug, version.number)


@require_POST
@tenant_view(roles=PLANNERS)
def verdict(request: HttpRequest, track: str) -> HttpResponse:
    """The live verdict partial: the editor posts itself here while the planner types."""
    track_key = _track_key_or_404(track)
    track_row = selectors.track_or_none(tenant=request.tenant, key=track_key)
    kind = request.POST.get("kind", "")
    number = request.POST.get("version", "")
    if number.isdigit() and len(number) < 10:
        version = selectors.version_get(tenant=request.tenant, number=int(number))
        if version.track_id != getattr(track_row, "pk", None):
            raise Http404("That version belongs to another track")
        kind = version.kind
    form = PlanPayloadForm(data=request.POST)
    found = _classification(
        request=request, track=track_row, track_key=track_key, form=form, kind=kind
    )
    corrections = None if found else form.corrections(blanks_shown=False)
    return render(
        request, "plans/editor.html#verdict", {"verdict": found, "corrections": corrections}
    )


# --- Transitions ---------------------------------------------------------------------------------
@require_POST
@tenant_view(roles=PLANNERS)
def version_submit(request: HttpRequest, number: int) -> HttpResponse:
    version = selectors.version_get(tenant=request.tenant, number=number)
    try:
        plan_version_submit(version=version, actor=Actor.for_user(request.user))
    except DomainError as exc:
        page_error(request, exc)
    else:
        messages.success(request, f"v{version.number} submitted for approval.")
    return redirect("plans:version", request.tenant.slug, version.number)


@require_POST
@tenant_view(roles=PLANNERS)
def version_withdraw(request: HttpRequest, number: int) -> HttpResponse:
    version = selectors.version_get(tenant=request.tenant, number=number)
    try:
        plan_version_withdraw(version=version, actor=Actor.for_user(request.user))
    except DomainError as exc:
        page_error(request, exc)
    else:
        messages.success(
            request, f"v{version.number} withdrawn from approval: it is a draft again."
        )
    return redirect("plans:version", request.tenant.slug, version.number)


@require_POST
@tenant_view(roles=PLANNERS)
def version_discard(request: HttpRequest, number: int) -> HttpResponse:
    """Discard a draft for good (it stays in the timeline; its number is not used again)."""
    version = selectors.version_get(tenant=request.tenant, number=number)
    reason_form = DraftReasonForm(data=request.POST)
    if not reason_form.is_valid():
        messages.error(request, "Nothing was discarded: " + " ".join(reason_form.errors["reason"]))
        return redirect("plans:version", request.tenant.slug, version.number)
    try:
        plan_version_discard(
            version=version,
            actor=Actor.for_user(request.user),
            note=reason_form.cleaned_data["reason"],
        )
    except DomainError as exc:
        page_error(request, exc)
        return redirect("plans:version", request.tenant.slug, version.number)
    messages.success(
        request,
        f"Draft v{version.number} discarded: it stays in the {version.track.key} timeline, and "
        "its number is not used again.",
    )
    return redirect("plans:timeline", request.tenant.slug, version.track.key)


@require_POST
@tenant_view(roles=PLANNERS)
def version_envelope(request: HttpRequest, number: int) -> HttpResponse:
    """Propose a new master envelope with a draft (or take the proposal back): the client
    approves it with the version, and approving the version applies it."""
    version = selectors.version_get(tenant=request.tenant, number=number)
    actor = Actor.for_user(request.user)
    if request.POST.get("action") == "take-back":
        master_change, done = None, f"v{version.number} no longer proposes a new master envelope."
    elif not version.is_editable:
        # Checked before the form: its errors re-render the page's envelope form, which a version
        # past its draft does not have (issue 20: an invalid POST here was a server error).
        messages.error(
            request,
            f"v{version.number} is {version.get_status_display().lower()}; "
            "only a draft can propose a new master envelope.",
        )
        return redirect("plans:version", request.tenant.slug, version.number)
    else:
        form = _envelope_form(q.envelope_proposal(version), request.POST)
        if form is None:
            messages.error(request, f"No master envelope covers v{version.number}'s dates.")
            return redirect("plans:version", request.tenant.slug, version.number)
        if not form.is_valid():
            return _version_page(request, number, envelope_form=form, status=422)
        master_change = form.master_change()
        done = (
            f"v{version.number} proposes a new master envelope: the client approves it with "
            f"v{version.number}, and approving v{version.number} applies it."
        )
    try:
        plan_version_propose_envelope(version=version, master_change=master_change, actor=actor)
    except DomainError as exc:
        if master_change is None or isinstance(exc, PlanStateError):
            page_error(request, exc)
            return redirect("plans:version", request.tenant.slug, version.number)
        form.add_error(None, exc.message)
        return _version_page(request, number, envelope_form=form, status=exc.status)
    messages.success(request, done)
    return redirect("plans:version", request.tenant.slug, version.number)


# --- Compare -------------------------------------------------------------------------------------
@tenant_view()
def compare(request: HttpRequest) -> HttpResponse:
    choices = q.tenant_versions(tenant=request.tenant)
    known = {v.number for v in choices}
    left, right = _int(request.GET.get("a", "")), _int(request.GET.get("b", ""))
    asked = bool(request.GET.get("a") or request.GET.get("b"))
    errors = []
    if asked and (left not in known or right not in known):
        errors.append("Choose two versions of this tenant to compare.")
    elif asked and left == right:
        errors.append(f"v{left} compared with itself has no differences: choose two versions.")
    context = {
        "nav": "plans",
        "choices": choices,
        "pickers": [("a", "From version", left), ("b", "To version", right)],
        "errors": errors,
    }
    if asked and not errors:
        found = selectors.versions_compare(tenant=request.tenant, left=left, right=right)
        context.update(
            a=found["left"],
            b=found["right"],
            diff=found["diff"],
            diff_empty=diff_is_empty(found["diff"]),
            summary=found["summary"],
            currency=found["right"].currency,
        )
    return render(request, "plans/compare.html", context, status=400 if errors else 200)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


@require_POST
@tenant_view(roles=PLANNERS)
def version_carry_forward(request: HttpRequest, number: int) -> HttpResponse:
    """A new draft on the current version with an outdated version's changes re-applied."""
    version = selectors.version_get(tenant=request.tenant, number=number)
    try:
        carried = plan_version_carry_forward(version=version, actor=Actor.for_user(request.user))
    except DomainError as exc:
        page_error(request, exc)
        return redirect("plans:version", request.tenant.slug, version.number)
    collided = len(carried.carry_collisions)
    messages.success(
        request,
        f"v{carried.number} carries v{version.number} forward onto "
        f"v{carried.parent.number if carried.parent_id else '—'}"
        + (
            f": {collided} change{'s' if collided != 1 else ''} collided and "
            f"{'were' if collided != 1 else 'was'} not re-applied."
            if collided
            else "."
        ),
    )
    return redirect("plans:version", request.tenant.slug, carried.number)
