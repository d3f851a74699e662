"""What plans tells people through the approvals lifecycle seam (approvals/events.py)."""

from __future__ import annotations

from approvals.events import LifecycleEvent, LifecycleKind, lifecycle_emit
from audit.actors import Actor
from plans.models import PlanVersion


def version_outdated_emit(version: PlanVersion, *, approved: PlanVersion, actor: Actor) -> None:
    """`version` was outdated by the approval of `approved`: its drafters hear of it (inside the
    approval's transaction; the listeners act after commit)."""
    drafters = sorted({u for u in (version.drafted_by_user_id, version.edited_by_user_id) if u})
    user = getattr(actor, "user", None)
    lifecycle_emit(
        [
            LifecycleEvent(
                kind=LifecycleKind.VERSION_OUTDATED,
                tenant_id=version.tenant_id,
                actor_label=str(actor)[:150],
                actor_user_id=user.pk if actor.is_person and user else None,
                data={
                    "number": version.number,
                    "track": version.track.key,
                    "by_version": approved.number,
                    "approved_at": approved.approved_at.isoformat(),
                    "drafters": drafters,
                },
            )
        ]
    )
