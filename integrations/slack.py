"""Deciding from Slack (issue 19.5).

A ticket that starts waiting is posted to its tenant's channel with its summary, SLA and
Approve / Reject / Open buttons; each button carries the ticket's id and the hash of the version
shown (approvals/fingerprint.py). A click comes back to `POST /integrations/slack/interactions/`:

1. the request's signature is checked with slack-sdk's SignatureVerifier (SLACK_SIGNING_SECRET,
   5-minute window) and a signature seen before (a replay) is refused — nothing is read before;
2. the Slack user must have been linked to a Human Touch login by that person
   (/integrations/slack/link/…), in a tenant whose Slack workspace sent the click;
3. the decision goes through `ticket_decide` like the page's (role, four eyes, the stale hash);
   Reject first asks for a reason in a modal;
4. the answer is quick: the message update and any explanation (ephemeral, only the clicker sees
   it) are posted to Slack by the cluster after commit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier

from approvals.fingerprint import ticket_shown_hash
from approvals.inbox import sla_text
from approvals.models import Ticket
from approvals.selectors import ticket_allowed_verdicts
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from config.errors import DomainError
from integrations.models import SlackInstallation, SlackMessage, SlackRequest, SlackUserLink
from tenants.models import Membership

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 5 * 60
LINK_SALT = "integrations.slack.link"
LINK_MAX_AGE = 60 * 60
REJECT_CALLBACK = "ht_reject_reason"
API_TIMEOUT = 2  # seconds: a modal must open within Slack's 3-second trigger


@dataclass
class Answer:
    """What the endpoint answers: an HTTP status and body, and an ephemeral explanation for the
    person who clicked (posted to Slack's response_url after commit)."""

    status: int = 200
    body: dict | None = None
    ephemeral: str = ""
    response_url: str = ""
    decided: bool = False


def client_for(installation: SlackInstallation) -> WebClient:
    return WebClient(
        token=installation.bot_token, base_url=settings.SLACK_API_URL, timeout=API_TIMEOUT
    )


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}"


# --- Checking the request ------------------------------------------------------------------------
def request_refusal(body: bytes, headers) -> tuple[int, str, str] | None:
    """(status, code, sentence) when the request is not Slack's own, fresh and new; else None.
    Records the signature, so the same request a second time is a replay."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return 503, "not_configured", "Slack is not set up here (SLACK_SIGNING_SECRET)."
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    try:
        age = abs(int(timezone.now().timestamp()) - int(timestamp))
    except ValueError:
        return 401, "bad_signature", "The request carries no valid Slack timestamp."
    if age > WINDOW_SECONDS:
        return 401, "stale_request", "The request is older than 5 minutes."
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        return 401, "bad_signature", "The request's Slack signature does not verify."
    try:
        with transaction.atomic():
            SlackRequest.objects.create(signature=signature[:100])
    except IntegrityError:
        return 409, "replayed", "This request was received before."
    return None


# --- Linking -------------------------------------------------------------------------------------
def link_url(team_id: str, slack_user_id: str) -> str:
    token = signing.dumps({"team": team_id, "user": slack_user_id}, salt=LINK_SALT)
    return _absolute(reverse("integrations:slack_link", kwargs={"token": token}))


def link_claims(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None


# --- Messages ------------------------------------------------------------------------------------
def _button_value(ticket: Ticket, shown: str) -> str:
    return f"{ticket.public_id}|{shown}"


def message_blocks(ticket: Ticket, shown: str) -> tuple[str, list[dict]]:
    # Long on purpose: the Slack message's blocks in display order (header, summary, figures,
    # buttons); Block Kit is verbose by design.
    url = _absolute(reverse("ticket", kwargs={"public_id": ticket.public_id}))
    sla = (
        f"SLA: {sla_text(due_at=ticket.sla_due_at, now=timezone.now())}"
        if ticket.sla_due_at
        else ""
    )
    text = f"{ticket.public_id} {ticket.ticket_type.name}: {ticket.title}"
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
    ]
    if ticket.summary:
        blocks.append(
            {"type": "section", "text": {"type": "plain_text", "text": ticket.summary[:2900]}}
        )
    if ticket.is_open:
        waiting = ", ".join(ticket.waiting_roles.values_list("role", flat=True))
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Waits for {waiting or '—'}. {sla}"}],
            }
        )
        elements = []
        if not ticket.is_red_flag:  # red flags are cleared on their page, after a look at the run
            elements += [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": f"Approve {ticket.type}"},
                    "value": _button_value(ticket, shown),
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": f"Reject {ticket.type}"},
                    "value": _button_value(ticket, shown),
                },
            ]
        elements.append(
            {
                "type": "button",
                "action_id": "open",
                "text": {"type": "plain_text", "text": "Open"},
                "url": url,
            }
        )
        blocks.append({"type": "actions", "elements": elements})
    else:
        by = ticket.resolved_by_label or "someone"
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{ticket.status_label} by {by} · <{url}|Open in Human Touch>",
                    }
                ],
            }
        )
    return text, blocks


def slack_post(ticket_id: int) -> bool:
    """Post a waiting ticket to its tenant's channel (once)."""
    ticket = Ticket.objects.select_related("tenant").filter(pk=ticket_id).first()
    if ticket is None or not ticket.is_open:
        return False
    installation = SlackInstallation.objects.filter(tenant_id=ticket.tenant_id).first()
    if installation is None:
        return False
    message, _ = SlackMessage.objects.get_or_create(
        ticket=ticket, defaults={"channel_id": "", "shown_hash": ""}
    )
    claimed = SlackMessage.objects.filter(pk=message.pk, posted_at__isnull=True).update(
        posted_at=timezone.now(), channel_id=installation.channel_id
    )
    if not claimed:
        return False  # posted already
    shown = ticket_shown_hash(ticket)
    text, blocks = message_blocks(ticket, shown)
    try:
        response = client_for(installation).chat_postMessage(
            channel=installation.channel_id, text=text, blocks=blocks
        )
    except SlackClientError:
        SlackMessage.objects.filter(pk=message.pk).update(posted_at=None)
        logger.exception("slack: posting %s failed", ticket.public_id)
        return False
    SlackMessage.objects.filter(pk=message.pk).update(
        ts=response.get("ts", ""), shown_hash=shown, updated_for=ticket.status
    )
    return True


def slack_refresh(ticket_id: int) -> bool:
    """Show the ticket as it is now in its message: buttons gone and who decided, once decided."""
    message = (
        SlackMessage.objects.select_related("ticket", "ticket__tenant")
        .filter(ticket_id=ticket_id)
        .first()
    )
    if message is None or not message.ts:
        return False
    installation = SlackInstallation.objects.filter(tenant_id=message.ticket.tenant_id).first()
    if installation is None:
        return False
    ticket = message.ticket
    shown = ticket_shown_hash(ticket)
    text, blocks = message_blocks(ticket, shown)
    try:
        client_for(installation).chat_update(
            channel=message.channel_id, ts=message.ts, text=text, blocks=blocks
        )
    except SlackClientError:
        logger.exception("slack: updating %s failed", ticket.public_id)
        return False
    SlackMessage.objects.filter(pk=message.pk).update(shown_hash=shown, updated_for=ticket.status)
    return True


def slack_respond(response_url: str, text: str) -> bool:
    """An ephemeral explanation to the person who clicked (Slack's response_url)."""
    from integrations.webhooks import http_post

    body = json.dumps({"response_type": "ephemeral", "replace_original": False, "text": text})
    status, _error = http_post(response_url, body.encode(), {"content-type": "application/json"})
    return status is not None and 200 <= status < 300


# --- Interactions --------------------------------------------------------------------------------
def _person(payload: dict, ticket: Ticket):
    """The Human Touch user behind the click, or an explanation."""
    team_id = (payload.get("team") or {}).get("id", "")
    slack_user = (payload.get("user") or {}).get("id", "")
    installation = SlackInstallation.objects.filter(tenant_id=ticket.tenant_id).first()
    if installation is None or installation.team_id != team_id:
        return None, "This Slack workspace is not connected to that ticket's tenant."
    link = (
        SlackUserLink.objects.filter(team_id=team_id, slack_user_id=slack_user)
        .select_related("user")
        .first()
    )
    if link is None:
        return None, (
            "Your Slack user is not linked to a Human Touch login yet, so nothing was decided. "
            f"Link it once (log in as yourself): {link_url(team_id, slack_user)}"
        )
    if not Membership.objects.filter(user=link.user, tenant_id=ticket.tenant_id).exists():
        return None, "You don't work in this ticket's tenant: nothing was decided."
    return link.user, ""


def _ticket_and_hash(value: str) -> tuple[Ticket | None, str]:
    public_id, _, shown = (value or "").partition("|")
    ticket = Ticket.objects.select_related("tenant").filter(public_id=public_id[:16]).first()
    return ticket, shown[:32]


def _decide(ticket: Ticket, user, verdict: str, shown: str, comment: str) -> str:
    """Decide; returns "" when done, else why not (a sentence for the person)."""
    try:
        ticket_decide(
            ticket=ticket,
            actor=Actor.for_user(user),
            verdict=verdict,
            comment=comment,
            shown_hash=shown,
        )
    except DomainError as refused:
        return f"Nothing was decided: {refused.message}"
    return ""


def _reject_modal(ticket: Ticket, shown: str) -> dict:
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": _button_value(ticket, shown),
        "title": {"type": "plain_text", "text": f"Reject {ticket.type}"},
        "submit": {"type": "plain_text", "text": f"Reject {ticket.type}"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{ticket.public_id}* {ticket.title}"},
            },
            {
                "type": "input",
                "block_id": "reason",
                "label": {
                    "type": "plain_text",
                    "text": "Why do you reject it? (the requester sees it)",
                },
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
            },
        ],
    }


def interaction_handle(payload: dict) -> Answer:
    kind = payload.get("type")
    if kind == "block_actions":
        return _block_action(payload)
    if (
        kind == "view_submission"
        and (payload.get("view") or {}).get("callback_id") == REJECT_CALLBACK
    ):
        return _reject_submission(payload)
    return Answer(body={"ok": True, "ignored": kind or "unknown"})


def _block_action(payload: dict) -> Answer:
    actions = payload.get("actions") or []
    response_url = payload.get("response_url", "")
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    action_id = action.get("action_id")
    if action_id == "open" or action_id not in ("approve", "reject"):
        return Answer(body={"ok": True})
    ticket, shown = _ticket_and_hash(action.get("value", ""))
    if ticket is None:
        return Answer(ephemeral="That ticket no longer exists.", response_url=response_url)
    user, why = _person(payload, ticket)
    if user is None:
        return Answer(ephemeral=why, response_url=response_url, body={"ok": False, "why": why})
    if action_id == "approve":
        why = _decide(ticket, user, Verdict.APPROVE, shown, "Approved from Slack.")
        if why:
            return Answer(ephemeral=why, response_url=response_url, body={"ok": False, "why": why})
        return Answer(body={"ok": True, "decided": ticket.public_id}, decided=True)
    # Reject: the reason first, in a modal (nothing is decided by the click itself).
    if Verdict.REJECT not in ticket_allowed_verdicts(ticket=ticket, user=user):
        why = f"You may not reject {ticket.public_id} (your role, or it is already decided)."
        return Answer(ephemeral=why, response_url=response_url, body={"ok": False, "why": why})
    installation = SlackInstallation.objects.get(tenant_id=ticket.tenant_id)
    try:
        client_for(installation).views_open(
            trigger_id=payload.get("trigger_id", ""), view=_reject_modal(ticket, shown)
        )
    except (SlackApiError, SlackClientError):
        why = "Slack would not open the form for a reason; reject it on its page instead."
        return Answer(ephemeral=why, response_url=response_url, body={"ok": False, "why": why})
    return Answer(body={"ok": True, "asked": "reason"})


def _reject_submission(payload: dict) -> Answer:
    view = payload.get("view") or {}
    ticket, shown = _ticket_and_hash(view.get("private_metadata", ""))
    values = ((view.get("state") or {}).get("values") or {}).get("reason") or {}
    reason = ((values.get("reason") or {}).get("value") or "").strip()
    if ticket is None:
        return Answer(body={"response_action": "errors", "errors": {"reason": "No such ticket."}})
    if not reason:
        return Answer(
            body={"response_action": "errors", "errors": {"reason": "Say why you reject it."}}
        )
    user, why = _person(payload, ticket)
    if user is None:
        return Answer(body={"response_action": "errors", "errors": {"reason": why[:150]}})
    why = _decide(ticket, user, Verdict.REJECT, shown, reason)
    if why:
        return Answer(body={"response_action": "errors", "errors": {"reason": why[:150]}})
    return Answer(body=None, decided=True)
