"""Demo live manifests (CONTRACT.md "Demo world"), idempotent: manifest_sync upserts.

acme's search already runs at the revised pace of v2/v3 (an optimization applied earlier), social
runs a little under plan and TikTok is not live yet — so the approved v3 shows both "applied" and
"remaining" work. globex runs its plan as approved.
"""

from __future__ import annotations

from collections.abc import Callable

from audit.actors import Actor
from optimization.services import manifest_sync
from plans.models import Track

SEED_ACTOR = Actor.system("seed_demo")


def _entry(platform, entity_id, channel, version, daily_budget, **state):
    return {
        "platform": platform,
        "entity_id": entity_id,
        "channel": channel,
        "plan_version": version,
        "state": {"daily_budget": daily_budget, "status": "active", **state},
    }


def seed(*, log: Callable[[str], None]) -> None:
    for slug, track_key, entries in [
        (
            "acme",
            "always_on",
            lambda v: [
                _entry(
                    "google_ads",
                    "acme-search-brand",
                    "search",
                    v,
                    "250.00",
                    bid_strategy="target_cpa",
                ),
                _entry(
                    "google_ads",
                    "acme-search-generic",
                    "search",
                    v,
                    "388.71",
                    bid_strategy="target_cpa",
                ),
                _entry(
                    "meta",
                    "acme-social-prospecting",
                    "social",
                    v,
                    "300.00",
                    audiences=["lookalike 1%", "winter shoppers"],
                ),
            ],
        ),
        (
            "acme",
            "branding",
            lambda v: [
                _entry(
                    "youtube", "acme-brand-film", "video", v, "387.10", bid_strategy="target_cpm"
                ),
            ],
        ),
        (
            "globex",
            "always_on",
            lambda v: [
                _entry(
                    "google_ads",
                    "globex-search-clinics",
                    "search",
                    v,
                    "387.10",
                    bid_strategy="maximize_conversions",
                ),
                _entry(
                    "meta",
                    "globex-social-checkups",
                    "social",
                    v,
                    "195.65",
                    audiences=["45+ US", "caregivers"],
                ),
            ],
        ),
    ]:
        track = (
            Track.objects.filter(tenant__slug=slug, key=track_key, current_version__isnull=False)
            .select_related("current_version", "tenant")
            .first()
        )
        if track is None:
            log(f"{slug} {track_key}: no approved plan, no manifest")
            continue
        rows = entries(track.current_version.number)
        manifest_sync(tenant=track.tenant, track_key=track_key, entries=rows, actor=SEED_ACTOR)
        log(f"{slug} {track_key}: {len(rows)} live entities on v{track.current_version.number}")
