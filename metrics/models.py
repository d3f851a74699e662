from django.db import models


class WeeklyReportMailing(models.Model):
    """One tenant's Monday mail of the weekly track reports for one week: the row is claimed
    (inserted) before the reports are built and the mail is handed to the mailer after commit, so
    a second run, a concurrent run or a run after a crash sends each week's mail once."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="the Monday starting the week reported on")
    tracks = models.PositiveIntegerField(default=0)
    recipients = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "tenant_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "week_start"], name="weekly_mailing_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} week of {self.week_start}"
