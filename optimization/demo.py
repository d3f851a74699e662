"""Demo live manifests and acme's optimization history (docs/agent-api.md "Demo world", issue #8
item 12), all through the real services and idempotent.

Manifests: acme's search runs at the pace of v2/v3, social a little under plan and TikTok is set
up but paused (never live yet) — so the approved v3 shows both "applied" and "remaining" work;
globex runs its plan as approved. A second run adds only entities that are missing: it never
syncs an entity back over what change sets have moved since.

History (acme always_on, now — the drift scan counts what was applied since v3's approval): the
bid optimizer keeps pushing search over its guardrails and people keep approving it, so the
first revise-trigger scan finds each of its five signals once —

- drift: search ends ~30% above v3's planned daily budget (beyond 15%);
- guardrail approvals: six A3s approved in 14 days (more than 5) — one approved for a smaller
  move than asked, one approved after the live state moved (stale: nothing applied), one on a
  social raise that the operator then rolls back;
- KPI miss: GA4 puts the CPA above v3's target of 36 on each of the last 21 days (the platform's
  own, kinder figures for search are there too, and lose to GA4);
- structural blocks: the agent tried to add Pinterest and to target Switzerland (both blocked);
- seasonality: a planner put a search flight starting in ten days on the calendar.

Left waiting for people: a social raise (A3, operator and client) and TikTok's first launch (A2).
The scan itself is not run here: the first scan (`make run`'s cluster or `scan_triggers`) finds
the signals. Every step is guarded by what exists (change sets by their fixed ids), so a second
run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from config.errors import DomainError
from optimization.demo_story import _person, _seed_change_sets
from optimization.models import (
    ChangeSet,
    ChangeSetStatus,
    CreativeTheme,
    ExecutionManifestEntry,
    PerformanceRow,
    Reconciliation,
    SeasonalChange,
)
from optimization.selectors import planned_daily_budgets
from optimization.services import (
    manifest_sync,
    performance_ingest_within,
    seasonal_change_set_within,
)
from optimization.services.reconcile import observations_report, reconcile
from optimization.services.themes import ThemeRequest, creative_theme_propose_within
from plans.models import Track
from tenants.demo_clock import DemoClock
from tenants.models import Role, Tenant

SEED_ACTOR = Actor.system("seed_demo")
OPTIMIZER = "bid-optimizer"
REPORTING = Actor.service("reporting-agent")
KPI_DAYS = 21  # acme's kpi_miss_days (the policy default)


def _entry(platform, entity_id, channel, version, daily_budget, status="active", **state):
    return {
        "platform": platform,
        "entity_id": entity_id,
        "channel": channel,
        "plan_version": version,
        "state": {"daily_budget": daily_budget, "status": status, **state},
    }


MANIFESTS = [
    (
        "acme",
        "always_on",
        lambda v: [
            _entry(
                "google_ads", "acme-search-brand", "search", v, "250.00", bid_strategy="target_cpa"
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
            _entry(
                "tiktok_ads",
                "acme-tiktok-winter",
                "tiktok",
                v,
                "258.06",
                status="paused",
                bid_strategy="lowest_cost",
            ),
        ],
    ),
    (
        "acme",
        "branding",
        lambda v: [
            _entry("youtube", "acme-brand-film", "video", v, "387.10", bid_strategy="target_cpm"),
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
]


MANIFESTS_AT = 10  # working days back (tenants.demo_clock)


def _sync(track: Track, track_key: str, missing: list[dict]) -> None:
    manifest_sync(
        tenant=track.tenant,
        track_key=track_key,
        entries=missing,
        actor=SEED_ACTOR,
        launched_by="seed",
    )


def _seed_manifests(log: Callable[[str], None]) -> None:
    for minutes, (slug, track_key, entries) in enumerate(MANIFESTS):
        track = (
            Track.objects.filter(tenant__slug=slug, key=track_key, current_version__isnull=False)
            .select_related("current_version", "tenant")
            .first()
        )
        if track is None:
            log(f"{slug} {track_key}: no approved plan, no manifest")
            continue
        rows = entries(track.current_version.number)
        known = set(
            ExecutionManifestEntry.objects.filter(
                tenant=track.tenant, entity_id__in=[row["entity_id"] for row in rows]
            ).values_list("entity_id", flat=True)
        )
        missing = [row for row in rows if row["entity_id"] not in known]
        if missing:
            # The execution agent set the approved plans up the afternoon after the brand film
            # was approved (the plans' history, plans.demo).
            with DemoClock(track.tenant.time_zone).at(MANIFESTS_AT, f"16:{minutes * 5:02}"):
                _sync(track, track_key, missing)
        log(
            f"{slug} {track_key}: {len(rows)} manifest entries on v{track.current_version.number}"
            + (f" ({len(missing)} new)" if missing and known else "")
        )


# --- acme's optimization history (the change sets: optimization/demo_story.py) -------------------


def _performance_rows(tenant: Tenant, track: Track) -> list[dict]:
    """GA4 (the primary source) for search and social on the last 21 days and today (so a scan
    the next morning still sees 21 full days): a CPA of €39–48 against v3's target of €36 every
    day. Google Ads' own attribution gives search four conversions more a day, which would put
    some days under the target: the scan must read GA4 where it reports the day."""
    today = tenant.today()
    rows = []
    for back in range(KPI_DAYS, -1, -1):
        day = today - timedelta(days=back)
        i = day.toordinal()
        search_spend = Decimal(600 + i * 37 % 80)
        search_conversions = Decimal(14 + i % 3)
        social_spend = Decimal(290 + i * 31 % 25)
        social_conversions = Decimal(6 + i % 2)
        for channel, source, spend, conversions in [
            ("search", "ga4", search_spend, search_conversions),
            ("social", "ga4", social_spend, social_conversions),
            ("search", "google_ads", search_spend, search_conversions + 4),
        ]:
            rows.append(
                {
                    "date": str(day),
                    "channel": channel,
                    "source": source,
                    "spend": str(spend),
                    "conversions": str(conversions),
                    "kpi": "cpa",
                    "kpi_value": str((spend / conversions).quantize(Decimal("0.01"))),
                }
            )
    known = {
        (str(day), channel, source)
        for day, channel, source in PerformanceRow.objects.filter(
            track=track, date__gte=today - timedelta(days=KPI_DAYS)
        ).values_list("date", "channel", "source")
    }
    return [r for r in rows if (r["date"], r["channel"], r["source"]) not in known]


SEASONAL_NOTE = "Gift rush: search flight raised for ten days"


CALENDAR_AT = (4, "11:30")  # the planner's entry, just before the story's change sets


def _seed_calendar(tenant: Tenant, track: Track) -> None:
    if SeasonalChange.objects.filter(track=track, note=SEASONAL_NOTE).exists():
        return
    starts_on = tenant.today() + timedelta(days=10)  # ten days from (real) today
    with DemoClock(tenant.time_zone).at(*CALENDAR_AT):
        _calendar_entry(tenant, track, starts_on)


def _calendar_entry(tenant: Tenant, track: Track, starts_on) -> None:
    seasonal_change_set_within(
        track=track,
        channel="search",
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=10),
        budget=Decimal("9000"),
        note=SEASONAL_NOTE,
        actor=_person(tenant, Role.PLANNER),
    )


def _seed_history(log: Callable[[str], None]) -> None:
    track = (
        Track.objects.filter(tenant__slug="acme", key="always_on", current_version__isnull=False)
        .select_related("tenant", "current_version")
        .first()
    )
    if track is None:
        log("acme always_on: no approved plan, no optimization history")
        return
    tenant = track.tenant
    today = tenant.today()
    planned = planned_daily_budgets(track=track, on=today)
    if not (planned.get("search") and planned.get("social")):
        # The story's guardrail checks are figured against the flights running today.
        log(f"acme always_on: no search and social flights on {today}: no optimization history")
        return
    try:
        # One transaction: a run that fails half way leaves no half-told story behind. Its
        # steps are the services' `_within` twins (config/transactions.py).
        with transaction.atomic(durable=True):
            _seed_calendar(tenant, track)
            _seed_change_sets(tenant)
    except DomainError as error:
        # Say why (the live state was moved by hand before the story ran, say) and let the rest
        # of the demo world be seeded.
        log(f"acme always_on: no optimization history: {error.message}")
        return
    statuses = Counter(
        ChangeSet.objects.filter(tenant=tenant, track=track).values_list("status", flat=True)
    )
    rollbacks = ChangeSet.objects.filter(tenant=tenant, track=track, reverts__isnull=False).count()
    log(
        f"acme always_on: {sum(statuses.values())} change sets — "
        + ", ".join(
            f"{statuses[status]} {ChangeSetStatus(status).label.lower()}"
            for status in ChangeSetStatus.values
            if statuses[status]
        )
        + f"; {rollbacks} rollback"
        + ("" if rollbacks == 1 else "s")
    )
    log(
        "acme always_on: seasonality calendar entries: "
        f"{SeasonalChange.objects.filter(track=track).count()}"
    )


def seed_performance(*, log: Callable[[str], None]) -> None:
    """GA4 and Google Ads figures of the last 21 days and today, brought in by the reporting
    agent's import this morning (the last step of the story: its stamp is the latest)."""
    track = (
        Track.objects.filter(tenant__slug="acme", key="always_on", current_version__isnull=False)
        .select_related("tenant")
        .first()
    )
    if track is None:
        log("acme always_on: no approved plan, no performance rows")
        return
    rows = _performance_rows(track.tenant, track)
    if rows:
        with DemoClock(track.tenant.time_zone).at(0, "06:00"), transaction.atomic():
            performance_ingest_within(
                tenant=track.tenant, track_key="always_on", rows=rows, actor=REPORTING
            )
    log(f"acme always_on: {PerformanceRow.objects.filter(track=track).count()} performance rows")


# globex's creative theme, proposed by its creative agent: its A7 has a client slot (health_strict),
# so globex-client approves it in the portal, with the planner and legal.
GLOBEX_THEME = ThemeRequest(
    theme_id="globex-posture-at-the-desk",
    name="Posture at the desk",
    headlines=["Sit better, feel better", "Two minutes for your back"],
    imagery_note="An office worker stretching at a standing desk, daylight, no medical setting",
    claims=["Exercises developed with physiotherapists"],
)


THEME_AT = (3, "11:00")


def _seed_themes(log: Callable[[str], None]) -> None:
    tenant = Tenant.objects.filter(slug="globex").first()
    if tenant is None or not Track.objects.filter(tenant=tenant, key="always_on").exists():
        log("globex: no always_on track, no creative theme")
        return
    if not CreativeTheme.objects.filter(tenant=tenant, theme_id=GLOBEX_THEME.theme_id).exists():
        with DemoClock(tenant.time_zone).at(*THEME_AT), transaction.atomic():
            creative_theme_propose_within(
                tenant=tenant,
                track_key="always_on",
                request=GLOBEX_THEME,
                actor=Actor.service("globex-creative-agent"),
            )
    log(f"globex always_on: creative theme \u201c{GLOBEX_THEME.name}\u201d in review")


# --- acme's reconciliation (A6) ------------------------------------------------------------------
RECONCILED_ENTITY = "acme-brand-film"
PLATFORM_BUDGET = Decimal("420.00")  # what YouTube runs; the manifest keeps v3's pace
RECONCILED_AT = (1, "16:30")  # the execution agent's afternoon check, last working day


def seed_reconciliation(*, log: Callable[[str], None]) -> None:
    """The execution agent reports the brand film running at €420 a day, set by hand in the
    platform, and the reconcile run opens its A6 — the demo's A6 names a real entity, both real
    figures, and deciding it changes the manifest or asks the agent to restore it."""
    entry = (
        ExecutionManifestEntry.objects.filter(tenant__slug="acme", entity_id=RECONCILED_ENTITY)
        .select_related("tenant", "track")
        .first()
    )
    if entry is None:
        log("acme: no brand film in the manifest, no reconciliation")
        return
    if not Reconciliation.objects.filter(manifest_entry=entry).exists():
        with DemoClock(entry.tenant.time_zone).at(*RECONCILED_AT):
            _observe_and_reconcile(entry)
    reconciliation = Reconciliation.objects.filter(manifest_entry=entry).first()
    log(
        f"acme {entry.track.key}: {entry.audit_id} reconciliation "
        + (f"{reconciliation.ticket} ({reconciliation.status})" if reconciliation else "not opened")
    )


def _observe_and_reconcile(entry: ExecutionManifestEntry) -> None:
    observations_report(
        tenant=entry.tenant,
        track_key=entry.track.key,
        observations=[
            {
                "platform": entry.platform,
                "entity_id": entry.entity_id,
                "status": entry.state.get("status", "active"),
                "daily_budget": str(PLATFORM_BUDGET),
                "spend_to_date": "2940.00",
                "observed_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
            }
        ],
        actor=Actor.service("execution-agent"),
    )
    reconcile(tenant=entry.tenant)


def seed(*, log: Callable[[str], None]) -> None:
    _seed_manifests(log)
    _seed_themes(log)
    _seed_history(log)


def seed_setup(*, log: Callable[[str], None]) -> None:
    """The manifests and globex's theme (before the agents' runs, in the story's order)."""
    _seed_manifests(log)
    _seed_themes(log)


def seed_history(*, log: Callable[[str], None]) -> None:
    _seed_history(log)
