"""`/healthz`, for the load balancer and monitors: the database answers and the django-q2 cluster
beat within HEALTHZ_CLUSTER_MAX_AGE seconds. JSON; 200 when both hold, else 503.

Served by a middleware at the very top, before the HTTPS redirect and the host check: a load
balancer polls each node over plain HTTP by its address.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ops.models import Heartbeat
from ops.tasks import CLUSTER

PATH = "/healthz"


def health() -> tuple[bool, dict]:
    body: dict = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = {"ok": True}
        beat = Heartbeat.objects.filter(name=CLUSTER).values_list("beat_at", flat=True).first()
    except DatabaseError as exc:
        body["database"] = {"ok": False, "detail": str(exc).strip().splitlines()[0][:200]}
        body["cluster"] = {"ok": False, "detail": "unknown while the database is down"}
        return False, body
    limit = settings.HEALTHZ_CLUSTER_MAX_AGE
    if beat is None:
        body["cluster"] = {"ok": False, "detail": "no heartbeat yet (is qcluster running?)"}
    else:
        age = (timezone.now() - beat).total_seconds()
        body["cluster"] = {
            "ok": age <= limit,
            "last_heartbeat": beat.isoformat(),
            "age_seconds": round(age, 1),
            "max_age_seconds": limit,
        }
    return body["database"]["ok"] and body["cluster"]["ok"], body


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info != PATH:
            return self.get_response(request)
        ok, body = health()
        response = JsonResponse({"status": "ok" if ok else "unavailable", **body})
        response.status_code = 200 if ok else 503
        response["Cache-Control"] = "no-store"
        return response
