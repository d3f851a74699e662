"""How change sets and recommendations read on ticket pages and in the portal
(approvals/presentation.py; registered in optimization/apps.py): a recommendation's evidence —
the signal, its numbers, its window, the change sets behind it, the drift chart for a drift
signal — and where approving it leads (its draft, in the editor); a change set's items and a
link to its page,
where an operator approves a smaller move or rolls it back; a spend approval in the client's
words."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from approvals.models import TicketStatus
from approvals.presentation import ClientWords
from approvals.types import SubjectKind, Verdict, roles_that_may_approve
from config.formatting import money, money_change
from optimization import drift as drift_selector
from optimization import selectors
from optimization import views_queries as q
from optimization.models import LaunchStatus, RecommendationStatus, Signal, ThemeStatus
from optimization.services.change_sets import SUBJECT_TYPE
from optimization.services.launches import LAUNCH_SUBJECT
from optimization.services.onboarding import SUBJECT_TYPE as PLATFORM_ACCOUNT_SUBJECT
from optimization.services.onboarding import account_of_ticket
from optimization.services.recommendations import RECOMMENDATION_SUBJECT
from optimization.services.reconcile import SUBJECT_TYPE as RECONCILIATION_SUBJECT
from optimization.services.reconcile import (
    figure_text,
    observation_history,
    reconciliation_of_ticket,
    restore_targets,
)
from optimization.services.themes import THEME_SUBJECT, theme_client_title, theme_sentences
from plans.models import PlanStatus, PlanVersion
from plans.summary import channel_label, track_label


def recommendation_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    recommendation = q.recommendation_for_ticket(ticket)
    if recommendation is None:
        return None
    track = recommendation.track
    evidence = recommendation.evidence or {}
    drift = None
    if recommendation.signal == Signal.DRIFT and evidence.get("channel"):
        drift = drift_selector.track_drift(
            track=track, now=timezone.now(), channels=[evidence["channel"]]
        )
    proposes = bool(evidence.get("proposed_payload")) or bool(recommendation.draft_number)
    predraft = (
        PlanVersion.objects.filter(tenant_id=ticket.tenant_id, number=recommendation.draft_number)
        .select_related("outdated_by")
        .first()
        if recommendation.draft_number
        else None
    )
    return (
        "optimization/_recommendation_panel.html",
        {
            "recommendation": recommendation,
            "track": track,
            "tenant": ticket.tenant,
            "figures": q.evidence_figures(recommendation, track.currency),
            "change_set_ids": q.evidence_change_set_ids(recommendation),
            "kpi_days": evidence.get("days") if recommendation.signal == Signal.KPI_MISS else None,
            "drift": drift,
            "proposes_plan": proposes,
            "predraft": predraft,
        },
    )


def change_set_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    change_set = q.change_set_for_ticket(ticket)
    if change_set is None:
        return None
    return (
        "optimization/_change_set_panel.html",
        {
            "change_set": change_set,
            "tenant": ticket.tenant,
            "items": q.item_rows(change_set),
            "currency": change_set.track.currency,
            "a3": (a3 := q.open_a3(change_set)),
            "can_approve_smaller": bool(a3 and role in roles_that_may_approve(a3.required_roles)),
        },
    )


def change_set_client_words(ticket) -> ClientWords | None:
    """How the client portal (and its thank-you, history and notifications) names a spend
    approval: "Always-on plan: Search daily budget €500 → €530" — the track and the channels as
    the client knows them, never the change set's id or the guardrail that stopped it, and always
    in the figures that will apply (selectors.change_set_client_figures): when the team approved
    a smaller move, the client reads that move, and why it differs from what was asked."""
    change_set = q.change_set_for_ticket(ticket)
    if change_set is None:
        return None
    figures = selectors.change_set_client_figures(change_set)
    currency = change_set.track.currency
    plan = track_label(change_set.track.key)
    moves = figures.moves
    if len(moves) == 1:
        move = moves[0]
        title = (
            f"{plan}: {channel_label(move.channel)} daily budget {money(move.before, currency)} → "
            f"{money(move.before + move.applying, currency)}"
        )
    elif moves:
        title = f"{plan}: daily budgets of {', '.join(channel_label(m.channel) for m in moves)}"
    else:
        title = f"{plan}: daily budgets"
    summary = []
    for move in moves:
        summary.append(
            f"{channel_label(move.channel)} daily budget {money_change(move.applying, currency)} "
            f"({money(move.before, currency)} → {money(move.before + move.applying, currency)})."
        )
        if move.edited and figures.edited_after_client_approved:
            summary.append(
                f"Your team approved a smaller move: {money_change(move.applying, currency)} "
                f"instead of {money_change(move.asked, currency)}."
            )
    if figures.waiting_for_hold:
        summary.append(
            "It is approved. All spend on this plan is paused for now: it applies when spend "
            "resumes, if nothing has moved in the meantime."
        )
    rises = sum((m.applying for m in moves), Decimal("0")) > 0
    return ClientWords(
        title=title,
        kind="Budget increase" if rises else "Budget change",
        summary=tuple(summary) if summary else None,
    )


def recommendation_destination(ticket, verdict: str, user) -> str:
    """Approving a recommendation opens its draft in the plan editor — the pre-drafted one (as
    carried forward, when an approval had outdated it) or the one made now; one that proposes no
    plan opens a new draft of its track. Any other verdict stays on the ticket."""
    if verdict != Verdict.APPROVE or ticket.status != TicketStatus.APPROVED:
        return ""
    recommendation = q.recommendation_for_ticket(ticket)
    if recommendation is None:
        return ""
    slug = ticket.tenant.slug
    if recommendation.draft_number is None:
        return reverse("plans:draft_new", args=[slug, recommendation.track.key])
    draft = PlanVersion.objects.filter(
        tenant_id=ticket.tenant_id, number=recommendation.draft_number
    ).first()
    if draft is not None and draft.status == PlanStatus.DRAFT:
        return reverse("plans:edit", args=[slug, draft.number])
    return reverse("plans:version", args=[slug, recommendation.draft_number])


def recommendation_outcome(ticket) -> str:
    """ "draft v9 of always_on (v7 carried forward) is ready to review and submit"."""
    recommendation = q.recommendation_for_ticket(ticket)
    if recommendation is None or recommendation.is_open:
        return ""
    track = recommendation.track.key
    if recommendation.draft_number is None:
        if recommendation.status == RecommendationStatus.ACCEPTED:
            return f"a new draft of {track} waits for you in the editor"
        return ""
    draft = (
        PlanVersion.objects.filter(tenant_id=ticket.tenant_id, number=recommendation.draft_number)
        .select_related("carried_from")
        .first()
    )
    carried = (
        f" (v{draft.carried_from.number} carried forward)"
        if draft and draft.carried_from_id
        else ""
    )
    return f"draft v{recommendation.draft_number} of {track}{carried} is ready to review and submit"


def recommendation_label(ticket) -> str:
    """How the ticket's buttons name it: approving turns it into a draft, it approves no plan."""
    recommendation = q.recommendation_for_ticket(ticket)
    if recommendation is None:
        return "the recommendation"
    return f"the {recommendation.track.key} {recommendation.path} recommendation"


class ChangeSetPresentation:
    kind = SUBJECT_TYPE

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return change_set_panel(ticket, user, role)

    def label(self, ticket) -> str:
        return ""  # "change set cs-3f2a9c", from the ticket's change_set_id

    def outcome(self, ticket) -> str:
        return ""

    def client_words(self, ticket) -> ClientWords | None:
        return change_set_client_words(ticket)


class RecommendationPresentation:
    kind = RECOMMENDATION_SUBJECT

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return recommendation_panel(ticket, user, role)

    def label(self, ticket) -> str:
        return recommendation_label(ticket)

    def outcome(self, ticket) -> str:
        return recommendation_outcome(ticket)

    def client_words(self, ticket) -> ClientWords | None:
        return None  # recommendations are internal


def launch_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    launch = q.launch_for_ticket(ticket)
    if launch is None:
        return None
    return (
        "optimization/_launch_panel.html",
        {"launch": launch, "tenant": ticket.tenant, "rows": q.launch_rows(launch)},
    )


def launch_outcome(ticket) -> str:
    launch = q.launch_for_ticket(ticket)
    if launch is None:
        return ""
    names = ", ".join(launch.entities) or "nothing"
    if launch.status == LaunchStatus.LAUNCHED:
        return f"{names} went live on {launch.track.key}."
    if launch.status == LaunchStatus.REFUSED:
        return f"{names} did not go live; the manifest keeps them off."
    return ""


class ManifestLaunchPresentation:
    kind = LAUNCH_SUBJECT

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return launch_panel(ticket, user, role)

    def label(self, ticket) -> str:
        launch = q.launch_for_ticket(ticket)
        return f"the first launch on {launch.track.key}" if launch else ""

    def outcome(self, ticket) -> str:
        return launch_outcome(ticket)

    def client_words(self, ticket) -> ClientWords | None:
        return None  # a launch confirmation is the team's; the portal's own rule names it


class ManifestEntryPresentation:
    """A ticket about one live entity: its buttons name the entity."""

    kind = SubjectKind.MANIFEST_ENTRY

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return None

    def label(self, ticket) -> str:
        return f"entity {ticket.subject_id}"

    def outcome(self, ticket) -> str:
        return ""

    def client_words(self, ticket) -> ClientWords | None:
        return None


def theme_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    theme = q.theme_for_ticket(ticket)
    if theme is None:
        return None
    return ("optimization/_theme_panel.html", {"theme": theme, "tenant": ticket.tenant})


class ThemePresentation:
    """A creative theme on its A7: the theme as the client will see it; in the portal, in the
    client's words."""

    kind = THEME_SUBJECT

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return theme_panel(ticket, user, role)

    def label(self, ticket) -> str:
        theme = q.theme_for_ticket(ticket)
        return f"the creative theme \u201c{theme.name}\u201d" if theme else ""

    def outcome(self, ticket) -> str:
        theme = q.theme_for_ticket(ticket)
        if theme is None or theme.status == ThemeStatus.IN_REVIEW:
            return ""
        return (
            f"The creative theme \u201c{theme.name}\u201d is {theme.get_status_display().lower()}."
        )

    def client_words(self, ticket) -> ClientWords | None:
        theme = q.theme_for_ticket(ticket)
        if theme is None:
            return None
        return ClientWords(
            title=theme_client_title(theme),
            kind="Creative theme",
            summary=tuple(theme_sentences(theme)),
        )


# --- Reconciliations (A6) ----------------------------------------------------------------------
def reconciliation_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    """Both figures of each field that differs, what the platform reported lately, and what each
    button does."""
    reconciliation = reconciliation_of_ticket(ticket)
    if reconciliation is None:
        return None
    entry = reconciliation.manifest_entry
    currency = reconciliation.track.currency
    return (
        "optimization/_reconciliation_panel.html",
        {
            "reconciliation": reconciliation,
            "entry": entry,
            "tenant": ticket.tenant,
            "figures": [
                {
                    "field": name.replace("_", " "),
                    "manifest": figure_text(name, pair["manifest"], currency),
                    "platform": figure_text(name, pair["platform"], currency),
                }
                for name, pair in reconciliation.differences.items()
            ],
            "history": [
                {
                    **row,
                    "observed_at": datetime.fromisoformat(row["observed_at"]),
                    "daily_budget": figure_text("daily_budget", row["daily_budget"], currency)
                    if row["daily_budget"] is not None
                    else "—",
                    "spend_to_date": figure_text("daily_budget", row["spend_to_date"], currency)
                    if row["spend_to_date"] is not None
                    else "—",
                }
                for row in observation_history(entry)
            ],
            "targets": restore_targets(reconciliation),
        },
    )


def reconciliation_label(ticket) -> str:
    reconciliation = reconciliation_of_ticket(ticket)
    if reconciliation is None:
        return "the reconciliation"
    return f"the platform's value of {reconciliation.manifest_entry.audit_id}"


def reconciliation_outcome(ticket) -> str:
    reconciliation = reconciliation_of_ticket(ticket)
    if reconciliation is None or reconciliation.is_open:
        return ""
    entity = reconciliation.manifest_entry.audit_id
    return {
        "accepted": f"The manifest of {entity} now holds the platform's value.",
        "restoring": f"The agent restores the manifest's value on {entity} (alignment work).",
        "restored": f"{entity} runs the manifest's value again.",
        "dismissed": f"Nothing changed on {entity}; a new observation may open another A6.",
    }.get(reconciliation.status, "")


class ReconciliationPresentation:
    kind = RECONCILIATION_SUBJECT

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return reconciliation_panel(ticket, user, role)

    def label(self, ticket) -> str:
        return reconciliation_label(ticket)

    def outcome(self, ticket) -> str:
        return reconciliation_outcome(ticket)

    def client_words(self, ticket) -> ClientWords | None:
        return None  # A6 is internal only


# --- Access requests (A4) ------------------------------------------------------------------------
class PlatformAccountPresentation:
    kind = PLATFORM_ACCOUNT_SUBJECT

    def panel(self, ticket, user, role: str) -> tuple[str, dict] | None:
        return None  # the ticket's own summary says it all; the onboarding page lists them

    def label(self, ticket) -> str:
        account = account_of_ticket(ticket)
        return f"access to {account.audit_id}" if account else ""

    def outcome(self, ticket) -> str:
        account = account_of_ticket(ticket)
        if account is None:
            return ""
        return f"{account.audit_id} is {account.get_state_display().lower()}."

    def client_words(self, ticket) -> ClientWords | None:
        account = account_of_ticket(ticket)
        if account is None:
            return None
        return ClientWords(
            title=f"Access to your {account.get_kind_display()} {account.external_id}",
            kind="Access request",
        )
