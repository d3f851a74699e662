"""Admins' webhook and Slack pages, the Slack link page, and Slack's interaction endpoint."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from audit.actors import Actor
from config.errors import DomainError
from integrations.models import (
    SlackInstallation,
    SlackUserLink,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from integrations.services import (
    slack_installation_set,
    slack_user_link,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_test_send,
)
from integrations.slack import interaction_handle, link_claims, request_refusal
from tenants.access import tenant_view
from tenants.models import Role

SECRET_SESSION_KEY = "integrations_new_secret"
LOG_SIZE = 50
SLACK_BODY_MAX = 64 * 1024


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, tenant=request.tenant).first()
    if endpoint is None:
        raise Http404("No such endpoint")
    return endpoint


@tenant_view(roles=[Role.ADMIN])
def webhooks(request):
    form = {"url": "", "description": "", "events": [e.value for e in WebhookEvent]}
    error, status = "", 200
    if request.method == "POST":
        form = {
            "url": request.POST.get("url", ""),
            "description": request.POST.get("description", ""),
            "events": request.POST.getlist("events"),
        }
        try:
            endpoint, secret = webhook_endpoint_create(
                tenant=request.tenant, actor=Actor.for_user(request.user), **form
            )
        except DomainError as refused:
            error, status = refused.message, 422
        else:
            # Shown on the next page once, then forgotten.
            request.session[SECRET_SESSION_KEY] = {"endpoint": endpoint.pk, "secret": secret}
            return redirect(
                "integrations:webhook", tenant_slug=request.tenant.slug, endpoint_id=endpoint.pk
            )
    endpoints = WebhookEndpoint.objects.filter(tenant=request.tenant)
    return render(
        request,
        "integrations/webhooks.html",
        {
            "nav": "webhooks",
            "endpoints": endpoints,
            "events": WebhookEvent.choices,
            "form": form,
            "error": error,
        },
        status=status,
    )


@tenant_view(roles=[Role.ADMIN])
def webhook(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    shown = request.session.pop(SECRET_SESSION_KEY, None)
    secret = shown["secret"] if shown and shown.get("endpoint") == endpoint.pk else ""
    deliveries = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related("tries")
        .order_by("-id")[:LOG_SIZE]
    )
    return render(
        request,
        "integrations/webhook.html",
        {
            "nav": "webhooks",
            "endpoint": endpoint,
            "secret": secret,
            "deliveries": deliveries,
            "events": WebhookEvent.choices,
        },
    )


@require_POST
@tenant_view(roles=[Role.ADMIN])
def webhook_action(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    actor = Actor.for_user(request.user)
    action = request.POST.get("action", "")
    try:
        if action == "test":
            delivery = webhook_test_send(endpoint=endpoint, actor=actor)
            messages.success(
                request, f"Test event {delivery.message_id} queued; its try shows below."
            )
        elif action == "events":
            webhook_endpoint_update(
                endpoint=endpoint, actor=actor, events=request.POST.getlist("events")
            )
            messages.success(request, "Saved the events this endpoint receives.")
        elif action in ("enable", "disable"):
            webhook_endpoint_update(endpoint=endpoint, actor=actor, enabled=action == "enable")
            messages.success(request, f"Endpoint {action}d.")
        elif action == "rotate":
            secret = webhook_secret_rotate(endpoint=endpoint, actor=actor)
            request.session[SECRET_SESSION_KEY] = {"endpoint": endpoint.pk, "secret": secret}
            messages.success(request, "A new secret: copy it now, it is shown once.")
        elif action == "redeliver":
            delivery = WebhookDelivery.objects.filter(
                endpoint=endpoint, pk=request.POST.get("delivery", "0") or 0
            ).first()
            if delivery is None:
                raise Http404("No such delivery")
            webhook_redeliver(delivery=delivery, actor=actor)
            messages.success(request, f"{delivery.message_id} is sent again.")
        else:
            messages.error(request, "Unknown action.")
    except DomainError as refused:
        messages.error(request, refused.message)
    return redirect(
        "integrations:webhook", tenant_slug=request.tenant.slug, endpoint_id=endpoint.pk
    )


@tenant_view(roles=[Role.ADMIN])
def slack_settings(request):
    installation = SlackInstallation.objects.filter(tenant=request.tenant).first()
    error, status = "", 200
    if request.method == "POST":
        try:
            slack_installation_set(
                tenant=request.tenant,
                actor=Actor.for_user(request.user),
                team_id=request.POST.get("team_id", ""),
                channel_id=request.POST.get("channel_id", ""),
                bot_token=request.POST.get("bot_token", ""),
            )
        except DomainError as refused:
            error, status = refused.message, 422
        else:
            messages.success(request, "Saved: tickets that start waiting are posted there.")
            return redirect("integrations:slack", tenant_slug=request.tenant.slug)
    return render(
        request,
        "integrations/slack.html",
        {
            "nav": "slack",
            "installation": installation,
            "error": error,
            "interactions_url": request.build_absolute_uri(
                reverse("integrations:slack_interactions")
            ),
        },
        status=status,
    )


@login_required
def slack_link(request, token: str):
    claims = link_claims(token)
    if claims is None:
        return render(request, "integrations/slack_link.html", {"expired": True}, status=400)
    existing = SlackUserLink.objects.filter(
        team_id=claims["team"], slack_user_id=claims["user"]
    ).first()
    if request.method == "POST":
        try:
            slack_user_link(
                user=request.user,
                actor=Actor.for_user(request.user),
                team_id=claims["team"],
                slack_user_id=claims["user"],
            )
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, "Linked: your clicks in Slack now decide as you.")
            return redirect("notifications:list")
    return render(request, "integrations/slack_link.html", {"claims": claims, "existing": existing})


@csrf_exempt
@require_POST
def slack_interactions(request):
    """Slack's interactivity request URL. Answers fast; Slack is updated after commit."""
    body = request.body[: SLACK_BODY_MAX + 1]
    if len(body) > SLACK_BODY_MAX:
        return JsonResponse({"error": "payload_too_large", "detail": "Too large."}, status=413)
    refusal = request_refusal(body, request.headers)
    if refusal is not None:
        status, code, detail = refusal
        return JsonResponse({"error": code, "detail": detail}, status=status)
    try:
        payload = json.loads(request.POST.get("payload", ""))
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return JsonResponse(
            {"error": "bad_payload", "detail": "Expected a Slack interaction payload."}, status=400
        )
    answer = interaction_handle(payload)
    if answer.ephemeral and answer.response_url:
        async_task("integrations.tasks.slack_respond", answer.response_url, answer.ephemeral)
    if answer.body is None:
        return JsonResponse({}, status=answer.status)
    return JsonResponse(answer.body, status=answer.status)
