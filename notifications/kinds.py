"""What people are told about, and how each person may choose to hear it (pure, no database).

Every notification shows in the product (the bell, /notifications/); its kind's delivery, chosen
per person, says whether it is also e-mailed at once, gathered into the daily digest, or not sent
at all ("off": not even the bell). Red flags are never off or digested for the operators and
admins they go to: their delivery is always immediate, whatever was stored."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Kind(models.TextChoices):
    WAITING = "waiting", "Waiting for you"
    CLIENT_WAITING = "client_waiting", "Waiting for your approval (client)"
    SLA = "sla", "SLA due soon or overdue"
    DECIDED = "decided", "A decision on what you drafted or asked for"
    RED_FLAG = "red_flag", "Red flags (A8, A9)"
    QC_ALERT = "qc_alert", "QC alerts"
    FOLLOWED = "followed", "What you follow"
    INTEGRATION = "integration", "Integrations (webhooks, Slack)"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "In the daily digest"
    OFF = "off", "Off"


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    default: Delivery
    help: str
    locked: bool = False  # always immediate: can't be turned off or digested
    # Something to act on: a digest (or a mail held back a moment) skips it once the ticket
    # resolved meanwhile.
    actionable: bool = True


KIND_SPECS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in [
        KindSpec(
            Kind.WAITING,
            Delivery.IMMEDIATE,
            "A ticket starts waiting for your role, or is assigned to you.",
        ),
        KindSpec(
            Kind.CLIENT_WAITING,
            Delivery.IMMEDIATE,
            "Something waits for your approval in the client portal.",
        ),
        KindSpec(Kind.SLA, Delivery.IMMEDIATE, "A ticket waiting for you is due soon or overdue."),
        KindSpec(
            Kind.DECIDED,
            Delivery.DIGEST,
            "Someone decided on a version you drafted or a ticket you asked for.",
            actionable=False,
        ),
        KindSpec(
            Kind.RED_FLAG,
            Delivery.IMMEDIATE,
            "An agent run hit a loop limit (A8) or the Cost Guard (A9). Always immediate.",
            locked=True,
        ),
        KindSpec(
            Kind.QC_ALERT,
            Delivery.IMMEDIATE,
            "A task's QC success rate fell under the tenant's floor.",
            actionable=False,
        ),
        KindSpec(
            Kind.FOLLOWED,
            Delivery.DIGEST,
            "News on a ticket, track or run you follow.",
            actionable=False,
        ),
        KindSpec(
            Kind.INTEGRATION,
            Delivery.IMMEDIATE,
            "A webhook endpoint was disabled (admins).",
            actionable=False,
        ),
    ]
}


def effective_delivery(kind: str, stored: str | None) -> str:
    """The delivery a notification of `kind` gets for a person who stored `stored` (or nothing)."""
    spec = KIND_SPECS[kind]
    if spec.locked:
        return Delivery.IMMEDIATE
    return stored or spec.default


def preference_problem(kind: str, delivery: str) -> str:
    """Why `delivery` can't be chosen for `kind`, or ""."""
    if kind not in KIND_SPECS:
        return f"Unknown kind {kind!r}."
    if delivery not in Delivery.values:
        return f"Choose {', '.join(Delivery.values)} for {kind}."
    if KIND_SPECS[kind].locked and delivery != Delivery.IMMEDIATE:
        return (
            "Red flags are always sent at once to operators and admins: they can't be turned "
            "off or digested."
        )
    return ""
