"""CONTRACT.md "Execution, optimization, performance": the manifest sync."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from agents.api_base import ApiError, StorableText, agent_actor
from optimization.services import ManifestError, manifest_sync

router = Router(tags=["optimization"])


class ManifestIn(Schema):
    entries: list[dict[str, Any]]
    agent: StorableText = ""


class ManifestOut(Schema):
    upserted: int


@router.put(
    "/tracks/{track}/manifest",
    response=ManifestOut,
    summary="Upsert the live execution manifest entries of a track",
)
def track_manifest_sync(request, track: StorableText, body: ManifestIn):
    try:
        upserted = manifest_sync(
            tenant=request.tenant,
            track_key=track,
            entries=body.entries,
            actor=agent_actor(request, body.agent),
        )
    except ManifestError as error:
        raise ApiError(error.status, error.code, error.message) from None
    return {"upserted": upserted}
