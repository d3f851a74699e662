"""{% load audit_tags %}

{% audit_trail tenant "ticket" ticket.public_id %}   the trail of one resource, newest first
{% audit_trail tenant plan_version %}                a model instance names itself
{% audit_trail_url tenant event %}                   the trail page of an event's resource
{{ name|actor_words }}                               a worker's name in words
"""

from django import template
from django.urls import NoReverseMatch, reverse

from audit.actors import actor_words as _actor_words
from audit.resources import ResourceName, resource_name
from audit.selectors import audit_trail as audit_trail_events
from audit.services import resource_key

register = template.Library()

TRAIL_LIMIT = 50


@register.inclusion_tag("audit/_trail.html")
def audit_trail(
    tenant, resource, resource_id=None, limit: int = TRAIL_LIMIT, title: str = "", link=True
):
    if resource_id is None:
        resource_type, resource_id = resource_key(resource)
    else:
        resource_type = str(resource)
    events = list(
        audit_trail_events(tenant=tenant, resource_type=resource_type, resource_id=resource_id)[
            : limit + 1
        ]
    )
    return {
        "tenant": tenant,
        "events": events[:limit],
        "more": len(events) > limit,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "title": title or "Audit trail",
        "trail_url": audit_trail_url(tenant, resource_type, resource_id) if link else "",
    }


@register.filter
def actor_words(name: str) -> str:
    """A system worker's name in words ("optimization.scan_triggers" → "Revise-trigger scan")."""
    return _actor_words(name) if name else "—"


@register.simple_tag
def audit_resource(tenant, event) -> ResourceName:
    """What an event is about, in words, with the object's page (or "" if it has none); read
    already when the view named the page's events at once."""
    if getattr(event, "resource_words", None) is not None:
        return event.resource_words
    return resource_name(tenant.slug, event.resource_type, event.resource_id)


@register.simple_tag
def audit_trail_url(tenant, resource_type_or_event, resource_id=None) -> str:
    """The trail page URL, or "" for a resource name no URL can carry (never a page error)."""
    if resource_id is None:
        event = resource_type_or_event
        resource_type, resource_id = event.resource_type, event.resource_id
    else:
        resource_type = resource_type_or_event
    try:
        return reverse("audit:trail", args=[tenant.slug, resource_type, resource_id])
    except NoReverseMatch:
        return ""
