"""The compliance profiles (`approval_policy.vertical_compliance_profile`), declared once as data
(pure, no database): what each one sends to compliance review (an A7, planner + legal), which
claims it refuses outright, naming the rule, and whether the client approves creative themes.

Read by the change-set submit (optimization), the plan submit (plans/approvers.py), the policy
page (in words) and the policy's own check: a tenant may choose only a profile at least as strict
as its vertical's default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STANDARD = "standard"
HEALTH_STRICT = "health_strict"
FINANCE_STRICT = "finance_strict"


@dataclass(frozen=True)
class ClaimRule:
    """A claim refused outright: no review can approve it."""

    name: str  # "health.cure_claim"
    words: str  # "claims that a product cures a condition"
    pattern: re.Pattern

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(text))


@dataclass(frozen=True)
class ComplianceProfileSpec:
    key: str
    name: str
    strictness: int  # a tenant may move only to an equal or higher one than its vertical's
    # Change-set fields (optimization) whose change waits for an A7.
    change_fields: frozenset[str]
    # Plan payload keys whose new or changed value waits for an A7 (plans/approvers.py).
    plan_fields: tuple[str, ...]
    review_every_plan: bool  # every submitted version goes to compliance review
    refused_claims: tuple[ClaimRule, ...]
    client_approves_creative_themes: bool  # default of approval_policy.client_approves_…

    def refused_claim(self, text: str) -> ClaimRule | None:
        return next((rule for rule in self.refused_claims if rule.matches(text)), None)

    def words(self) -> list[str]:
        """The profile in sentences, for the policy page."""
        sentences = []
        if self.client_approves_creative_themes:
            sentences.append(
                "The client approves new creative themes, unless the policy says otherwise."
            )
        if self.change_fields:
            sentences.append(
                "Agents' changes to "
                + _and(FIELD_WORDS.get(f, f) for f in sorted(self.change_fields))
                + " wait for compliance review (planner and legal) before anything applies."
            )
        else:
            sentences.append("Agents' optimizations need no compliance review.")
        if self.review_every_plan:
            sentences.append("Every plan version goes to compliance review.")
        else:
            sentences.append(
                "A plan version goes to compliance review when its "
                + _and(FIELD_WORDS.get(f, f) for f in self.plan_fields)
                + " are new or change."
            )
        for rule in self.refused_claims:
            sentences.append(f"Refused outright ({rule.name}): {rule.words}.")
        sentences.append(
            "An open compliance review on a track or an entity blocks every creative launch "
            "and rotation on it."
        )
        return sentences


FIELD_WORDS = {
    "creative_rotation": "creatives",
    "audiences": "audiences",
    "messaging": "messaging",
    "creative_themes": "creative themes",
    "objective": "objective",
    "landing_page": "landing page",
}


def _and(words: Iterable[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _rule(name: str, words: str, pattern: str) -> ClaimRule:
    return ClaimRule(name, words, re.compile(pattern, re.IGNORECASE))


HEALTH_CLAIMS = (
    _rule(
        "health.cure_claim",
        "claims that a product cures or heals a condition",
        r"\b(cure[sd]?|curing|heals?|healed)\b",
    ),
    _rule(
        "health.guaranteed_results",
        "guaranteed or certain health results",
        r"\b(guarantee[sd]?|100\s*%\s*(effective|results?)|certain to)\b",
    ),
    _rule(
        "health.timed_outcome",
        "a health outcome promised within a time (\u201cin 3 days\u201d)",
        r"\b(relie(f|ves?)|gone|free of|lose)\b.*\bin\s+\d+\s+(hours?|days?|weeks?)\b",
    ),
)
FINANCE_CLAIMS = (
    _rule(
        "finance.guaranteed_returns",
        "guaranteed returns, profits or income",
        r"\bguarantee[sd]?\b.*\b(returns?|profits?|income|gains?)\b",
    ),
    _rule("finance.risk_free", "investments called risk-free", r"\brisk[\s-]*free\b"),
    _rule("finance.get_rich", "promises to get rich quickly", r"\bget\s+rich\b"),
)

PROFILES: dict[str, ComplianceProfileSpec] = {
    p.key: p
    for p in (
        ComplianceProfileSpec(
            key=STANDARD,
            name="Standard",
            strictness=0,
            change_fields=frozenset(),
            plan_fields=("messaging", "creative_themes", "objective"),
            review_every_plan=False,
            refused_claims=(),
            client_approves_creative_themes=False,
        ),
        ComplianceProfileSpec(
            key=HEALTH_STRICT,
            name="Health (strict)",
            strictness=1,
            change_fields=frozenset({"creative_rotation", "audiences"}),
            plan_fields=("messaging", "creative_themes", "objective", "landing_page"),
            review_every_plan=True,
            refused_claims=HEALTH_CLAIMS,
            client_approves_creative_themes=True,
        ),
        ComplianceProfileSpec(
            key=FINANCE_STRICT,
            name="Finance (strict)",
            strictness=1,
            change_fields=frozenset({"creative_rotation", "audiences"}),
            plan_fields=("messaging", "creative_themes", "objective", "landing_page"),
            review_every_plan=True,
            refused_claims=FINANCE_CLAIMS,
            client_approves_creative_themes=True,
        ),
    )
}

# The profile a tenant of a vertical starts with, and the least strict it may choose.
VERTICAL_DEFAULT_PROFILE = {"health": HEALTH_STRICT, "finance": FINANCE_STRICT}


def profile_spec(key: str) -> ComplianceProfileSpec:
    """The profile named `key`; an unknown one (a row written around the form) reads as a strict
    profile when its name says strict."""
    fallback = HEALTH_STRICT if str(key).endswith("_strict") else STANDARD
    return PROFILES.get(key) or PROFILES[fallback]


def vertical_default_profile(vertical: str) -> str:
    return VERTICAL_DEFAULT_PROFILE.get((vertical or "").strip().lower(), STANDARD)


def allowed_profiles(vertical: str) -> list[str]:
    """The profiles a tenant of `vertical` may choose: its default, or a stricter one."""
    default = vertical_default_profile(vertical)
    floor = PROFILES[default].strictness
    return [key for key, spec in PROFILES.items() if key == default or spec.strictness > floor]


def profile_error(vertical: str, key: str) -> str | None:
    """Why a tenant of `vertical` may not choose profile `key`, or None."""
    if key in allowed_profiles(vertical):
        return None
    default = vertical_default_profile(vertical)
    return (
        f"approval_policy.vertical_compliance_profile: a {vertical or 'tenant'} tenant keeps "
        f"{default} or a stricter profile, not {key}"
    )


def compliance_profiles_in_words(*, vertical: str, current: str) -> list[dict]:
    """Every profile for the policy page: its words, whether it is the tenant's and whether the
    tenant may choose it."""
    allowed = allowed_profiles(vertical)
    return [
        {
            "key": spec.key,
            "name": spec.name,
            "sentences": spec.words(),
            "current": spec.key == current,
            "allowed": spec.key in allowed,
            "is_default": spec.key == vertical_default_profile(vertical),
        }
        for spec in PROFILES.values()
    ]


def texts_of(value: Any) -> list[str]:
    """Every string in a value as change sets and plans carry them (text, lists, objects)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in texts_of(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in texts_of(item)]
    return []
