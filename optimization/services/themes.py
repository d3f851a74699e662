"""Creative themes (docs/rules.md "Every block is real"): an agent's or planner's new angle for a
track — headlines, an imagery note, the claims it makes — proposed through
`POST /api/v1/tracks/{track}/creative-themes`. Each opens an A7 (planner and legal, and the client
where `approval_policy.client_approves_creative_themes` says so — by default for the health and
finance profiles). Creatives carry their theme; a creative whose theme is not approved cannot go
live (423 blocked_by_compliance naming the theme's A7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from approvals.models import Ticket, TicketStatus
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Blocked, Conflict, DomainError
from config.text import text_problem
from config.transactions import within_transaction
from optimization.models import CreativeTheme, ThemeStatus
from plans.models import Track
from plans.summary import track_label
from tenants.compliance import profile_spec, texts_of
from tenants.models import Role, TenantPolicy

THEME_SUBJECT = SubjectKind.CREATIVE_THEME
THEME_KEY = "creative_theme"  # an entity's state names its creatives' theme under this key
MAX_LINES = 20


class ThemeError(DomainError):
    """A creative theme the rules refuse; nothing was written."""

    code = "invalid_theme"


@dataclass
class ThemeRequest:
    theme_id: str
    name: str
    headlines: list[str] = field(default_factory=list)
    imagery_note: str = ""
    claims: list[str] = field(default_factory=list)


def _text(value: Any, where: str, *, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{where}: text.", fields={where: ["must be text"]})
    text = value.strip()
    problem = text_problem(text)
    if problem:
        raise ThemeError(f"{where}: {problem}.", fields={where: [problem]})
    if required and not text:
        raise ThemeError(f"{where}: required.", fields={where: ["required"]})
    if len(text) > max_length:
        raise ThemeError(
            f"{where}: at most {max_length} characters.",
            fields={where: [f"at most {max_length} characters"]},
        )
    return text


def _lines(values: Any, where: str, *, required: bool) -> list[str]:
    if not isinstance(values, list) or len(values) > MAX_LINES or (required and not values):
        raise ThemeError(
            f"{where}: a list of 1 to {MAX_LINES} texts." if required else f"{where}: a list.",
            fields={where: ["a list of texts"]},
        )
    return [_text(v, f"{where}[{i}]", max_length=300) for i, v in enumerate(values)]


def _clean(request: ThemeRequest) -> ThemeRequest:
    return ThemeRequest(
        theme_id=_text(request.theme_id, "theme_id", max_length=100),
        name=_text(request.name, "name", max_length=200),
        headlines=_lines(request.headlines, "headlines", required=True),
        imagery_note=_text(request.imagery_note, "imagery_note", max_length=2000, required=False),
        claims=_lines(request.claims, "claims", required=False),
    )


def _refuse_claims(policy: TenantPolicy, cleaned: ThemeRequest) -> None:
    profile = profile_spec(policy.vertical_compliance_profile)
    for where, value in (
        ("name", cleaned.name),
        ("headlines", cleaned.headlines),
        ("imagery_note", cleaned.imagery_note),
        ("claims", cleaned.claims),
    ):
        for text in texts_of(value):
            rule = profile.refused_claim(text)
            if rule is not None:
                raise ThemeError(
                    f"{where}: \u201c{text[:200]}\u201d is refused by the {profile.key} "
                    f"compliance profile, rule {rule.name} ({rule.words}).",
                    code="claim_refused",
                    fields={where: [f"refused: {rule.name}"]},
                )


@within_transaction
def creative_theme_propose_within(
    *, tenant, track_key: str, request: ThemeRequest, actor: Actor
) -> CreativeTheme:
    """Record a theme and open its A7; inside the caller's transaction (the API's idempotent
    write)."""
    track = Track.objects.filter(tenant=tenant, key=track_key).first()
    if track is None:
        raise ThemeError(
            f"No track {track_key!r} for this tenant.", code="unknown_track", status=404
        )
    cleaned = _clean(request)
    policy = TenantPolicy.objects.get(tenant=tenant)
    _refuse_claims(policy, cleaned)
    if CreativeTheme.objects.filter(tenant=tenant, theme_id=cleaned.theme_id).exists():
        raise Conflict(
            f"A creative theme {cleaned.theme_id!r} exists already: send a new id.",
            code="conflict",
        )
    theme = CreativeTheme.objects.create(
        tenant=tenant,
        track=track,
        theme_id=cleaned.theme_id,
        name=cleaned.name,
        headlines=cleaned.headlines,
        imagery_note=cleaned.imagery_note,
        claims=cleaned.claims,
        proposed_by=actor.label[:150],
    )
    with_client = policy.creative_themes_need_the_client
    sentences = theme_sentences(theme)
    ticket = ticket_open_within(
        TicketRequest(
            tenant=tenant,
            type=TicketType.A7,
            actor=actor,
            title=f"Creative theme \u201c{theme.name}\u201d for {track.key}"[:200],
            summary=" ".join(sentences),
            subject_type=THEME_SUBJECT,
            subject_id=theme.theme_id,
            requesting_agent=theme.proposed_by,
            required_roles=[Role.PLANNER, Role.LEGAL] + ([Role.CLIENT] if with_client else []),
            client_visible=with_client,
            diff={
                "summary": sentences,
                "changes": [],
                "raw": {
                    "theme_id": theme.theme_id,
                    "headlines": theme.headlines,
                    "imagery_note": theme.imagery_note,
                    "claims": theme.claims,
                },
            },
        )
    )
    theme.ticket = ticket.public_id
    theme.save(update_fields=["ticket"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.CREATIVE_THEME_PROPOSED,
        resource=("creative_theme", theme.theme_id),
        payload=theme_json(theme),
        data={"track": track.key, "ticket": ticket.public_id, "client_approves": with_client},
    )
    return theme


def theme_sentences(theme: CreativeTheme) -> list[str]:
    """The theme as the client and the reviewers read it."""
    sentences = [f"Headline: \u201c{headline}\u201d" for headline in theme.headlines]
    if theme.imagery_note:
        sentences.append(f"Imagery: {theme.imagery_note}")
    if theme.claims:
        sentences.append("Claims: " + "; ".join(theme.claims))
    return sentences


def theme_json(theme: CreativeTheme) -> dict:
    return {
        "theme_id": theme.theme_id,
        "track": theme.track.key,
        "name": theme.name,
        "headlines": theme.headlines,
        "imagery_note": theme.imagery_note,
        "claims": theme.claims,
        "status": theme.status,
        "ticket": theme.ticket,
    }


# --- Creatives carry their theme -------------------------------------------------------------
def themes_named(value: Any) -> set[str]:
    """The theme ids a rotation or a state names: `{"creative", "theme"}` items of a rotation,
    or a state's `creative_theme`."""
    names: set[str] = set()
    if isinstance(value, dict):
        for key in ("theme", THEME_KEY):
            if isinstance(value.get(key), str) and value[key].strip():
                names.add(value[key].strip())
        for key in ("creative_rotation",):
            names |= themes_named(value.get(key))
    elif isinstance(value, list):
        for item in value:
            names |= themes_named(item)
    return names


def refuse_unapproved_themes(*, tenant, theme_ids: set[str], what: str) -> None:
    """A creative whose theme is not approved cannot go live: 423 naming the theme's A7 (422 for
    a theme the tenant does not have)."""
    if not theme_ids:
        return
    themes = {
        theme.theme_id: theme
        for theme in CreativeTheme.objects.filter(tenant=tenant, theme_id__in=theme_ids)
    }
    unknown = sorted(theme_ids - set(themes))
    if unknown:
        raise DomainError(
            f"{what}: no creative theme {', '.join(map(repr, unknown))} for this tenant.",
            code="unknown_theme",
            status=422,
        )
    for theme_id in sorted(theme_ids):
        theme = themes[theme_id]
        if not theme.is_approved:
            raise Blocked(
                f"{what}: the creative theme \u201c{theme.name}\u201d ({theme.theme_id}) is "
                f"{theme.get_status_display().lower()} ({theme.ticket}): its creatives cannot "
                "go live until it is approved.",
                code="blocked_by_compliance",
                ticket=theme.ticket,
            )


# --- The A7's decision ------------------------------------------------------------------------
def theme_of_ticket(ticket) -> CreativeTheme | None:
    return (
        CreativeTheme.objects.filter(tenant_id=ticket.tenant_id, theme_id=ticket.subject_id)
        .select_related("track", "tenant")
        .first()
    )


def creative_theme_decide_within(*, theme: CreativeTheme, outcome: str, actor: Actor) -> None:
    locked = CreativeTheme.objects.select_for_update(of=("self",)).get(pk=theme.pk)
    if locked.status != ThemeStatus.IN_REVIEW:
        return
    approved = outcome == TicketStatus.APPROVED
    theme.status = ThemeStatus.APPROVED if approved else ThemeStatus.REJECTED
    theme.decided_at = timezone.now()
    theme.save(update_fields=["status", "decided_at"])
    audit_event_append(
        tenant=theme.tenant,
        actor=actor,
        action=AuditAction.CREATIVE_THEME_DECIDED,
        resource=("creative_theme", theme.theme_id),
        data={"ticket": theme.ticket, "outcome": outcome, "status": theme.status},
    )


class CreativeThemeSubject:
    kind = THEME_SUBJECT

    def exists(self, tenant, subject_id: str) -> bool:
        return CreativeTheme.objects.filter(tenant=tenant, theme_id=subject_id).exists()

    def lock(self, ticket) -> None:
        theme = theme_of_ticket(ticket)
        if theme is not None:
            CreativeTheme.objects.select_for_update(of=("self",)).get(pk=theme.pk)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # proposed by agents through the API

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        theme = theme_of_ticket(ticket)
        if theme is not None:
            creative_theme_decide_within(theme=theme, outcome=outcome, actor=actor)


def theme_client_title(theme: CreativeTheme) -> str:
    return f"{track_label(theme.track.key)}: new creative theme \u201c{theme.name}\u201d"


def theme_ticket_roles(theme: CreativeTheme) -> list[str]:
    """The approval slots of the theme's A7."""
    ticket = Ticket.objects.filter(tenant_id=theme.tenant_id, public_id=theme.ticket).first()
    return list(ticket.required_roles) if ticket is not None else []
