"""The 400 handler (config/urls.py `handler400`): a page POST over the size limits gets the
product's own page saying so, in its layout, instead of Django's bare "Bad Request (400)".

Django raises RequestDataTooBig or TooManyFieldsSent when the CSRF check or the view first reads
the form; nothing was saved. Under /api/v1/ the answer is the API's JSON error (413
`payload_too_large`). Any other 400 is Django's own page, as before.

Imports no app of the project.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults


def too_much_sent(exception: Exception) -> str | None:
    """Which limit a request went over, in words; None when the 400 is about something else."""
    if isinstance(exception, RequestDataTooBig):
        return f"more than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"
    if isinstance(exception, TooManyFieldsSent):
        return f"more than the limit of {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields"
    if isinstance(exception, TooManyFilesSent):
        return f"more than the limit of {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files"
    return None


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    over = too_much_sent(exception)
    if over is None:
        return defaults.bad_request(request, exception)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": "payload_too_large",
                "detail": f"The body is {over}; send fewer items per call.",
            },
            status=413,
        )
    response = render(request, "413.html", {"over": over}, status=413)
    if request.headers.get("HX-Request"):
        # A form htmx sent (a comment, a decision): the whole page says it, not the region the
        # form would have swapped (base.html's htmx-config swaps a 413 in).
        response["HX-Retarget"] = "body"
        response["HX-Reswap"] = "innerHTML"
    return response
