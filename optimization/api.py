"""CONTRACT.md "Execution, optimization, performance": the manifest sync."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema

from api.base import agent_actor, errors
from config.text import StorableText
from optimization.services import manifest_sync

router = Router(tags=["optimization"])


class ManifestIn(Schema):
    entries: list[dict[str, Any]] = Field(min_length=1)
    agent: StorableText = Field("", max_length=100)


class ManifestOut(Schema):
    upserted: int


@router.put(
    "/tracks/{track}/manifest",
    response={200: ManifestOut, **errors(404, 409, 422)},
    summary="Upsert the live execution manifest entries of a track",
)
def track_manifest_sync(request, track: StorableText, body: ManifestIn):
    upserted = manifest_sync(
        tenant=request.tenant,
        track_key=track,
        entries=body.entries,
        actor=agent_actor(request, body.agent),
    )
    return {"upserted": upserted}
