"""Error pages. The 400 handler (config/urls.py `handler400`): a page POST over the size limits
gets the product's own page saying so, in its layout, instead of Django's bare "Bad Request (400)".

Django raises RequestDataTooBig or TooManyFieldsSent when the CSRF check or the view first reads
the form; nothing was saved. Under /api/v1/ the answer is the API's JSON error (413
`payload_too_large`). Any other 400 is Django's own page, as before.

Imports no app of the project.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_resolver
from django.views import defaults
from django.views.debug import ExceptionReporter


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


class ProductErrorReporter(ExceptionReporter):
    """What DEBUG would show for a crash, when technical pages are off: the product's 500 page.
    The traceback still goes to the log (django.request) and the terminal."""

    def get_traceback_html(self) -> str:
        return render_to_string("500.html")

    def get_traceback_text(self) -> str:
        return "Something went wrong: the server failed on this request; the error has been logged."


class ProductErrorPagesMiddleware:
    """The product's 404 and 500 pages even with DEBUG on (`make run`), unless a developer turns
    Django's technical pages on with TECHNICAL_ERROR_PAGES=1.

    With DEBUG, Django answers a missing page with a page listing every URL pattern and a crash
    with the code and settings — not what a person trying the product should meet. A 404 a view
    raises is answered here (process_exception); one for an address no pattern matches (no
    resolver_match) is replaced on the way out, after CommonMiddleware's APPEND_SLASH redirect had
    its chance; a crash is rendered by ProductErrorReporter, which Django asks for the page.
    403s never needed this: Django uses handler403 whatever DEBUG says. Both pages come from the
    project's handler404 / handler500, so they match production exactly.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _active() -> bool:
        return settings.DEBUG and not settings.TECHNICAL_ERROR_PAGES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._active():
            return self.get_response(request)
        request.exception_reporter_class = ProductErrorReporter
        response = self.get_response(request)
        if (
            response.status_code == 404
            and getattr(request, "resolver_match", None) is None
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return self.process_exception(request, Http404()) or response
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not self._active() or not isinstance(exception, Http404):
            return None
        callback = get_resolver().resolve_error_handler(404)
        return callback(request, exception=exception)
