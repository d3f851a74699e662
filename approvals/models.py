"""Approval tickets A1–A9 (docs/rules.md "Approval tickets"), their decisions and comments.

Services in approvals/services/ are the only writers. A ticket is `open` until every required
role approved it (→ approved), someone rejected it (→ rejected), someone asked for changes
(→ changes_requested), or the system withdrew it (→ cancelled). Those four are final.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Upper
from django.utils import timezone

from approvals.types import RED_FLAG_TYPES, TICKET_TYPES, TYPE_CHOICES, TicketType, Verdict


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    CANCELLED = "cancelled", "Cancelled"


class SlaKind(models.TextChoices):
    APPROVAL = "approval", "Approval"
    # A revise's A5: the seed's "lighter SLA for revise" (policy sla_revise_approval_days).
    REVISE_APPROVAL = "revise_approval", "Revise approval"
    REVISE_DRAFT = "revise_draft", "Revise draft"
    REPLAN_DRAFT = "replan_draft", "Replan draft"


# What one verdict does to the ticket when it ends it.
VERDICT_OUTCOME = {
    Verdict.APPROVE: TicketStatus.APPROVED,
    Verdict.REJECT: TicketStatus.REJECTED,
    Verdict.REQUEST_CHANGES: TicketStatus.CHANGES_REQUESTED,
}


# What the inbox search reads (approvals/filters.py): each word, in any case, anywhere in one of
# these. A field added here changes Ticket.search_text (a migration rewrites the column).
SEARCH_FIELDS = ("public_id", "title", "summary", "run_id", "change_set_id", "subject_id")
# Between two fields in search_text. A search word never holds whitespace (str.split), so no word
# can match across it: a word is found in search_text exactly when it is found in one field.
SEARCH_SEPARATOR = "\n"


class Ticket(models.Model):
    public_id = models.CharField(max_length=16, unique=True, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="tickets")
    type = models.CharField(max_length=2, choices=TYPE_CHOICES)
    status = models.CharField(
        max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="human summary of what is asked")
    diff = models.JSONField(default=dict, blank=True, help_text="structured diff preview")

    # What the ticket is about, and where it came from.
    subject_type = models.CharField(max_length=50, blank=True)
    subject_id = models.CharField(max_length=100, blank=True)
    # Whether the ticket's outcome decides its subject and it blocks the subject while open
    # (approvals/types.py SUBJECT_RULES): only tickets the subject's own rules opened do. One an
    # agent attached for information decides and blocks nothing.
    governs_subject = models.BooleanField(default=False, db_default=False)
    plan_version = models.IntegerField(null=True, blank=True)
    change_set_id = models.CharField(max_length=100, blank=True)
    run_id = models.CharField(max_length=100, blank=True)
    platform = models.CharField(max_length=50, blank=True)
    requesting_agent = models.CharField(max_length=100, blank=True)
    opened_by = models.CharField(max_length=150, help_text="the actor that opened it")
    opened_by_type = models.CharField(max_length=16, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the person who asked for it (four eyes: never one of its approvers)",
    )

    # A named responder (approvals/assignment.py): a person holding a role the ticket waits for.
    # Others with the role may still decide; the assignee is told and shown.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Who must decide.
    required_roles = models.JSONField(default=list, help_text="approval slots, e.g. planner")
    client_visible = models.BooleanField(default=False)
    red_flag = models.JSONField(null=True, blank=True, help_text="A8/A9 figures")

    # SLA and escalation.
    sla_kind = models.CharField(max_length=16, choices=SlaKind.choices, default=SlaKind.APPROVAL)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="when the sweep saw it")
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The due time the last escalation was for: one escalation per breach.
    escalated_for_due_at = models.DateTimeField(null=True, blank=True)

    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_by_label = models.CharField(max_length=150, blank=True)
    resolution_note = models.TextField(blank=True)
    # An A6 override points at the ticket it overrode.
    overrides = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="overridden_by"
    )
    # A cancelled ticket points at the ticket whose outcome withdrew it (a request for changes on
    # an A5 withdraws the version's A7), so its page can say why and link there.
    cancelled_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cancelled_tickets",
        help_text="the ticket whose outcome withdrew this one",
    )

    # The searched fields upper-cased in one stored column, kept by the database on every write:
    # a search compares each word once per row, with no UPPER() of six fields on every row it
    # reads (the cost of a word in nearly every ticket, which no index can narrow), and one
    # trigram index on it serves any word (approvals migration 0017).
    search_text = models.GeneratedField(
        expression=Upper(
            Concat(
                *(
                    part
                    for n, field in enumerate(SEARCH_FIELDS)
                    for part in ((Value(SEARCH_SEPARATOR),) if n else ()) + (field,)
                ),
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(type__in=list(TICKET_TYPES)), name="ticket_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(sla_kind__in=SlaKind.values), name="ticket_sla_kind_valid"
            ),
            # A final ticket says when it ended; an open one has not ended.
            models.CheckConstraint(
                condition=(Q(status=TicketStatus.OPEN) & Q(resolved_at__isnull=True))
                | (~Q(status=TicketStatus.OPEN) & Q(resolved_at__isnull=False)),
                name="ticket_resolved_at_matches_status",
            ),
            # Clients never see internal-only types (A6, A8, A9), whatever wrote the row.
            models.CheckConstraint(
                condition=~(Q(client_visible=True) & Q(type__in=["A6", "A8", "A9"])),
                name="ticket_internal_types_not_client_visible",
            ),
            models.CheckConstraint(
                condition=Q(governs_subject=False) | ~Q(subject_type=""),
                name="ticket_governs_a_subject",
            ),
            # Scans and retries rely on this: one open ticket per (tenant, dedupe_key).
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"],
                condition=Q(status=TicketStatus.OPEN) & ~Q(dedupe_key=""),
                name="ticket_open_dedupe_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="ticket_inbox"),
            models.Index(fields=["tenant", "subject_type", "subject_id"], name="ticket_subject"),
            # The SLA sweep looks only at open tickets with a due time, tenant by tenant.
            models.Index(
                fields=["tenant", "sla_due_at"],
                condition=Q(status=TicketStatus.OPEN) & Q(sla_due_at__isnull=False),
                name="ticket_open_sla_due",
            ),
            models.Index(
                fields=["tenant", "-created_at"],
                condition=Q(status=TicketStatus.OPEN) & Q(type__in=list(RED_FLAG_TYPES)),
                name="ticket_open_red_flags",
            ),
            # The ops metrics' range reads (approvals.selectors): one tenant's tickets opened in
            # a range, and its approvals by when they were decided.
            models.Index(fields=["tenant", "created_at"], name="ticket_tenant_created"),
            # The ticket rollups' refresh (approvals/rollups.py): tickets changed since it last ran.
            models.Index(fields=["updated_at"], name="ticket_updated"),
            models.Index(
                fields=["tenant", "resolved_at"],
                condition=Q(status=TicketStatus.APPROVED),
                name="ticket_tenant_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.title}"

    @property
    def audit_id(self) -> str:
        # Audit rows name the ticket by the id people see.
        return self.public_id

    @property
    def ticket_type(self):
        return TICKET_TYPES[self.type]

    @property
    def is_open(self) -> bool:
        return self.status == TicketStatus.OPEN

    @property
    def is_red_flag(self) -> bool:
        return self.type in RED_FLAG_TYPES

    @property
    def status_label(self) -> str:
        """The status in words: an approved red flag reads "Cleared" (the run may go on), as the
        operator's button said; the stored value stays `approved`."""
        if self.is_red_flag and self.status == TicketStatus.APPROVED:
            return "Cleared"
        return self.get_status_display()

    @property
    def is_loop_limit(self) -> bool:
        """An A8 red flag: its figures are the loop type and the attempt count."""
        return self.type == TicketType.A8


class TicketDecision(models.Model):
    """One person's approval, rejection or request for changes, in one role."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16)
    slot = models.CharField(max_length=64, blank=True, help_text="the approval slot it filled")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="ticket_decision_verdict_valid"
            ),
            # A slot is filled once: a second approval in the same role can't slip in.
            models.UniqueConstraint(
                fields=["ticket", "slot"],
                condition=Q(verdict=Verdict.APPROVE),
                name="ticket_decision_one_approval_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.public_id}: {self.verdict} by {self.user} as {self.role}"

    @property
    def is_approval(self) -> bool:
        return self.verdict == Verdict.APPROVE


class TicketWaitingRole(models.Model):
    """A role that may still fill an approval slot of an open ticket: "my queue" reads these.

    Derived from the ticket's slots and approvals, and kept by approvals/services/ in the same
    transaction as the change: one row per (ticket, role) while some open slot of the ticket
    accepts that role ("operator/planner" gives an operator row and a planner row); rows go as
    slots are filled and all of them when the ticket leaves "open". The tenant and the ticket's
    opening time are copied in so the queue of a person in many tenants is read from an index.
    """

    # No single-column indexes: the unique (ticket, role) and the queue index lead with them.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="waiting_roles", db_index=False
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    role = models.CharField(max_length=16)
    ticket_created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "role"], name="ticket_waiting_role_unique"),
        ]
        indexes = [
            # A person in a few tenants: their (tenant, role) ranges, counted and sorted.
            models.Index(
                fields=["tenant", "role", "-ticket_created_at", "-ticket"],
                name="ticket_waiting_role_queue",
            ),
            # A person in many tenants: one role's rows newest first, the tenant read from the
            # index, so a page of 25 stops after 25 matches instead of sorting them all.
            models.Index(
                fields=["role", "-ticket_created_at", "-ticket", "tenant"],
                name="ticket_waiting_role_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} waits for {self.role}"


class TicketComment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="comments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_label = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket.public_id}: {self.author_label}"


class EscalationMail(models.Model):
    """One SLA escalation mail to a tenant's admins (approvals/sweep.py), written in the sweep's
    transaction so a mail whose send never happened (the worker died after the commit, the mail
    server refused) is still here, unsent, for the next sweep. `message_id` is fixed when the row
    is written and sent as the Message-ID header: a resend is recognisably the same message."""

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="escalation_mails"
    )
    subject = models.TextField()
    body = models.TextField()
    recipients = models.JSONField(default=list, help_text="addresses, as sent")
    message_id = models.CharField(max_length=255, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep's first step looks only at unsent mails.
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True), name="escalationmail_unsent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({'sent' if self.sent_at else 'pending'})"


class TicketDay(models.Model):
    """One tenant's tickets of one local day (in its time zone), counted for one ops metric
    (issue 21.5; approvals/rollups.py reads them and keeps them in step). Derived data: rebuilt,
    never edited. The day is the metric's own. By metric:
    - time (resolved_at; per type): n approvals, `figures` their seconds opened → approved;
    - sla (created_at; per type): n tickets with a due time, m decided after it, `figures` the
      due moments (epoch seconds) of those still undecided at the count;
    - slot (created_at; per slot): n tickets that needed it, m approved ones that breached with
      it unfilled, `figures` the due moments of open ones whose slot was unfilled at the count.
    Exact numbers (JSON keeps PostgreSQL's numeric digits), so the figures equal the raw ones."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=8)
    key = models.CharField(max_length=32, blank=True)
    n = models.BigIntegerField(default=0)
    m = models.BigIntegerField(default=0)
    figures = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["tenant", "day"], name="ticket_day_tenant_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.metric} {self.key}"


class TicketRollupMark(models.Model):
    """How far the ticket rollups have read (a single row): tickets by `updated_at` (every
    change of a ticket saves it), their decisions by insertion id. `complete_until`: rollup days
    ending before it are read."""

    seen_decision_id = models.BigIntegerField(default=0)
    rescan_from_decision_id = models.BigIntegerField(default=0)
    updated_since = models.DateTimeField(null=True, blank=True)
    complete_until = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tickets updated since {self.updated_since}"
