from django.db import models


class Heartbeat(models.Model):
    """The last time a django-q2 cluster ran its heartbeat schedule (ops/tasks.py): /healthz
    reads it to tell a load balancer or a monitor whether the cluster is alive."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
