"""Reads of the execution manifest."""

from __future__ import annotations

from django.db.models import QuerySet

from optimization.models import ExecutionManifestEntry


def manifest_entries_for_track(*, track) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant_id=track.tenant_id, track=track)


def manifest_entries_for_tenant(*, tenant) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant=tenant).select_related("track")


def manifest_entries_for_version(*, tenant, number: int) -> QuerySet[ExecutionManifestEntry]:
    """The live entities that implement plan version `number` (seed 000 "Version history")."""
    return ExecutionManifestEntry.objects.filter(tenant=tenant, plan_version=number)


def manifest_entries_as_dicts(track) -> list[dict]:
    """The track's live entries in the shape plans/diff.py `manifest_diff` reads (registered with
    plans.live, so plans can compare a version with the live state without importing us)."""
    return [entry.as_dict() for entry in manifest_entries_for_track(track=track)]
