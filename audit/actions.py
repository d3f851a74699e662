"""Every audit action name the product writes, in one enum (services pass these, never strings).

A name reads `<resource>.<what happened>`. New capabilities add theirs here; the audit log's
filter and readers rely on a name never changing once events carry it.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # tenants
    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    MEMBERSHIP_SET = "membership.set"
    MEMBERSHIP_REMOVED = "membership.removed"
    POLICY_UPDATED = "policy.updated"
    LOGIN_LOCKED_OUT = "login.locked_out"
    LOGIN_LOCKOUT_LIFTED = "login.lockout_lifted"
    MEMBERSHIP_AWAY_SET = "membership.away_set"
    # agents
    AGENT_KEY_CREATED = "agent_key.created"
    AGENT_KEY_REVOKED = "agent_key.revoked"
    RUN_CREATED = "run.created"
    RUN_BLOCKED = "run.blocked"
    RUN_RESUMED = "run.resumed"
    RUN_ESTIMATE_RAISED = "run.estimate_raised"
    RUN_ENDED = "run.ended"
    QC_ALERT_OPENED = "qc_alert.opened"
    QC_ALERT_RECOVERED = "qc_alert.recovered"
    # approvals
    TICKET_OPENED = "ticket.opened"
    TICKET_DECIDED = "ticket.decided"
    TICKET_COMMENTED = "ticket.commented"
    TICKET_OVERRIDDEN = "ticket.overridden"
    TICKET_ESCALATED = "ticket.escalated"
    TICKET_APPROVED = "ticket.approved"
    TICKET_REJECTED = "ticket.rejected"
    TICKET_CHANGES_REQUESTED = "ticket.changes_requested"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_ASSIGNED = "ticket.assigned"
    # notifications and integrations
    NOTIFICATION_PREFERENCES_SET = "notification_preferences.set"
    WATCH_SET = "watch.set"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated"
    WEBHOOK_REDELIVERY_ASKED = "webhook_delivery.redelivery_asked"
    WEBHOOK_TEST_SENT = "webhook_endpoint.test_sent"
    SLACK_INSTALLATION_SET = "slack_installation.set"
    SLACK_USER_LINKED = "slack_user.linked"
    # plans
    TRACK_CREATED = "track.created"
    MASTER_PLAN_SET = "master_plan.set"
    MASTER_PLAN_CHANGED = "master_plan.changed"
    PLAN_VERSION_DRAFTED = "plan_version.drafted"
    PLAN_VERSION_EDITED = "plan_version.edited"
    PLAN_VERSION_IMPORTED = "plan_version.imported"
    PLAN_VERSION_SUBMITTED = "plan_version.submitted"
    PLAN_VERSION_APPROVED = "plan_version.approved"
    PLAN_VERSION_SUPERSEDED = "plan_version.superseded"
    PLAN_VERSION_REJECTED = "plan_version.rejected"
    PLAN_VERSION_CHANGES_REQUESTED = "plan_version.changes_requested"
    PLAN_VERSION_WITHDRAWN = "plan_version.withdrawn"
    PLAN_VERSION_DISCARDED = "plan_version.discarded"
    PLAN_VERSION_OUTDATED = "plan_version.outdated"
    PLAN_VERSION_ENVELOPE_PROPOSED = "plan_version.envelope_proposed"
    # optimization
    MANIFEST_SYNCED = "manifest.synced"
    MANIFEST_LAUNCHED = "manifest.launched"
    MANIFEST_LAUNCH_REFUSED = "manifest.launch_refused"
    # Entities re-pointed to the approved version they now run (issue 16 item 5).
    MANIFEST_ALIGNED = "manifest.aligned"
    CREATIVE_THEME_PROPOSED = "creative_theme.proposed"
    CREATIVE_THEME_DECIDED = "creative_theme.decided"
    CHANGE_SET_PROPOSED = "change_set.proposed"
    CHANGE_SET_APPLIED = "change_set.applied"
    CHANGE_SET_EDITED = "change_set.edited"
    CHANGE_SET_STALE = "change_set.stale"
    CHANGE_SET_REJECTED = "change_set.rejected"
    CHANGE_SET_LAPSED = "change_set.lapsed"
    CHANGE_SET_ROLLED_BACK = "change_set.rolled_back"
    CHANGE_SET_WAITING = "change_set.approved_waiting"
    CHANGE_SET_REFUSED = "change_set.refused"
    TRACK_HOLD_STARTED = "track.hold_started"
    TRACK_HOLD_ENDED = "track.hold_ended"
    PERFORMANCE_INGESTED = "performance.ingested"
    SEASONAL_CHANGE_SET = "seasonal_change.set"
    SEASONAL_CHANGE_REMOVED = "seasonal_change.removed"
    RECOMMENDATION_OPENED = "recommendation.opened"
    RECOMMENDATION_DRAFTED = "recommendation.drafted"
    RECOMMENDATION_ACCEPTED = "recommendation.accepted"
    RECOMMENDATION_DISMISSED = "recommendation.dismissed"
    OBSERVATIONS_REPORTED = "observations.reported"
    PLATFORM_ACCOUNT_REQUESTED = "platform_account.requested"
    PLATFORM_ACCOUNT_GRANTED = "platform_account.granted"
    PLATFORM_ACCOUNT_REFUSED = "platform_account.refused"
    PLATFORM_ACCOUNT_READY = "platform_account.ready"
    RECONCILIATION_OPENED = "reconciliation.opened"
    RECONCILIATION_ACCEPTED = "reconciliation.accepted"
    RECONCILIATION_RESTORING = "reconciliation.restoring"
    RECONCILIATION_RESTORED = "reconciliation.restored"
    RECONCILIATION_DISMISSED = "reconciliation.dismissed"
    # audit (retention: audit/retention.py, audit/retention_logs.py)
    AUDIT_PARTITION_ARCHIVED = "audit_partition.archived"
    LOG_PARTITION_ARCHIVED = "log_partition.archived"

    @classmethod
    def ticket_resolved(cls, outcome: str) -> AuditAction:
        """The action of a ticket reaching `outcome` (a TicketStatus value)."""
        return cls(f"ticket.{outcome}")
