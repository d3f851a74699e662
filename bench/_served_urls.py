"""The project's URLs behind two baseline views for the HTTP benches, through the same middleware
as the API: a trivial JSON view (reads the JSON body, answers JSON, no database), and the honest
floor of a gate call (issue 21.4): the same, plus one autocommit UPDATE of one row."""

import json

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # like the API: a bearer key, never a session
def ping(request):
    body = json.loads(request.body or b"{}")
    return JsonResponse({"ok": True, "fields": len(body)})


# bench/gate.py makes the table (FLOOR_ROWS rows) before it serves.
FLOOR_TABLE = "bench_floor"
FLOOR_ROWS = 4096


@csrf_exempt
def floor(request):
    """What any gate call must do at least: read a JSON body, UPDATE one row and commit (the
    commit is the floor on this machine), answer JSON. The row is the body's `row`."""
    body = json.loads(request.body or b"{}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FLOOR_TABLE} SET n = n + 1 WHERE id = %s RETURNING n",
            [int(body.get("row", 0)) % FLOOR_ROWS],
        )
        (n,) = cursor.fetchone()
    return JsonResponse({"ok": True, "n": n})


urlpatterns = [
    path("bench/ping", ping),
    path("bench/floor", floor),
    path("", include("config.urls")),
]
