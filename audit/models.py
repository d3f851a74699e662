from django.db import models
from django.db.models import Q


class ActorType(models.TextChoices):
    USER = "user", "User"
    AGENT = "agent", "Agent"
    SERVICE = "service", "Service"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One append-only row of a tenant's hash chain (docs/rules.md "Audit log").

    hash = SHA-256(prev_hash + canonical JSON of the row's content); see audit/chain.py. The
    database refuses UPDATE, DELETE and TRUNCATE on this table (migration 0002), and nothing
    cascades into it: a tenant with audit rows can't be deleted.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=100)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=50)
    resource_id = models.CharField(max_length=100)
    plan_version = models.IntegerField(null=True, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["tenant_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="audit_unique_tenant_seq"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_seq_positive"),
            models.CheckConstraint(
                condition=Q(actor_type__in=ActorType.values), name="audit_actor_type_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "resource_type", "resource_id"], name="audit_resource"),
            models.Index(fields=["tenant", "created_at"], name="audit_created"),
            models.Index(fields=["tenant", "action"], name="audit_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.resource_type}:{self.resource_id}"


class AuditChainHead(models.Model):
    """The newest link of each tenant's chain. Writers lock this row to append (READ COMMITTED:
    the locked re-read sees the committed head, so no two writers fork the chain).

    `prev_hash` is the link before the newest: the PostgreSQL append moves the head with one
    UPDATE (`prev_hash = hash, hash = …`) and hands both to the event it inserts.
    """

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.tenant_id}@{self.seq}"


class AuditArchive(models.Model):
    """One tenant's part of an audit partition that retention detached to an archive file
    (audit/retention.py). The newest row of a tenant is where its chain now starts in the
    database: verify_audit continues from `upto_seq`/`upto_hash`, the checkpoint check from
    `tree` (the tenant's Merkle tree up to `upto_seq`)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    partition = models.CharField(max_length=100)
    first_seq = models.BigIntegerField()
    upto_seq = models.BigIntegerField()
    upto_hash = models.CharField(max_length=64)
    tree = models.JSONField(default=list)
    file = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField()

    class Meta:
        ordering = ["tenant_id", "upto_seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "partition"], name="audit_archive_once"),
        ]

    def __str__(self) -> str:
        return f"{self.partition}: {self.tenant_id} #{self.first_seq}–#{self.upto_seq}"
