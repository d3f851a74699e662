"""Audit resources in words, linked to the object's page: "Plan version 5", "Tenant policy".

The audit log names what each event is about by the model name and id the writer used
(audit.services.resource_key). This module reads them as people do and finds the page of the
object by URL name only — audit imports no other app. Apps that name their objects otherwise (a
track by its key) register a resolver (bottom of this module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class ResourceName:
    words: str
    url: str  # "" when the object has no page of its own


def _page(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# resource type → (words, the object's page from (tenant slug, resource id) or None)
NAMES: dict[str, tuple[str, Callable[[str, str], str] | None]] = {
    "planversion": (
        "Plan version {id}",
        lambda slug, rid: _page("plans:version", slug, int(rid)) if rid.isdigit() else "",
    ),
    "ticket": ("Ticket {id}", lambda slug, rid: _page("ticket", rid)),
    "tenantpolicy": ("Tenant policy", lambda slug, rid: _page("tenant_policy", slug)),
    "tenant": ("Tenant", None),
    "loginlockout": (
        "Login lockout {id}",
        lambda slug, rid: _page("tenant_lockouts", slug),
    ),
    "membership": ("Membership {id}", None),
    "track": ("Track {id}", None),
    "masterplan": ("Master envelope {id}", lambda slug, rid: _page("plans:overview", slug)),
    "changeset": (
        "Change set {id}",
        lambda slug, rid: _page("optimization:change_set", slug, rid),
    ),
    "agentrun": ("Agent run {id}", lambda slug, rid: _page("agents:run", slug, rid)),
    "agentkey": ("Agent key {id}", None),
    "manifest": (
        "Live manifest of {id}",
        lambda slug, rid: _page("optimization:manifest", slug, rid),
    ),
    "performance": ("Performance of {id}", None),
    "recommendation": ("Recommendation {id}", None),
    "seasonalchange": ("Seasonality entry {id}", None),
    "qcalert": ("QC alert {id}", None),
}


def resource_name(tenant_slug: str, resource_type: str, resource_id: str) -> ResourceName:
    """One resource in words (resource_names reads a page of them at once)."""
    return resource_names(tenant_slug, [(resource_type, resource_id)])[
        (str(resource_type), str(resource_id))
    ]


def _named(tenant_slug: str, resource_type: str, resource_id: str) -> ResourceName:
    words, page = NAMES.get(resource_type, (f"{resource_type} {{id}}", None))
    return ResourceName(
        words=words.format(id=resource_id),
        url=page(tenant_slug, str(resource_id)) if page else "",
    )


# --- Names only the owning app knows -------------------------------------------------------------
# Audit imports no other app, so an app whose objects people know by a name rather than an id (a
# track by its key) registers a resolver in its AppConfig.ready(): (tenant slug, resource ids) →
# {id: ResourceName} for the ids it knows in that tenant, in one query. An id it doesn't know
# (deleted, another tenant's) keeps the words above.
ResourceResolver = Callable[[str, list[str]], dict[str, ResourceName]]
_resolvers: dict[str, ResourceResolver] = {}


def register_resource_resolver(resource_type: str, resolver: ResourceResolver) -> None:
    _resolvers[resource_type] = resolver


def resource_names(
    tenant_slug: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], ResourceName]:
    """Each (resource type, id) in words — one query per resolved type, for a page of events."""
    keys = {(str(t), str(i)) for t, i in keys}
    wanted: dict[str, list[str]] = {}
    for resource_type, resource_id in keys:
        if resource_type in _resolvers:
            wanted.setdefault(resource_type, []).append(resource_id)
    resolved = {
        (resource_type, resource_id): name
        for resource_type, ids in wanted.items()
        for resource_id, name in _resolvers[resource_type](tenant_slug, sorted(ids)).items()
    }
    return {key: resolved.get(key) or _named(tenant_slug, *key) for key in keys}
