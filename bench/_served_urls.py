"""The project's URLs behind one trivial JSON view, the HTTP benches' baseline: it reads the
JSON body and answers JSON, through the same middleware as the API, with no database."""

import json

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # like the API: a bearer key, never a session
def ping(request):
    body = json.loads(request.body or b"{}")
    return JsonResponse({"ok": True, "fields": len(body)})


urlpatterns = [
    path("bench/ping", ping),
    path("", include("config.urls")),
]
