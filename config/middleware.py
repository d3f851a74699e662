"""Project-wide middleware."""

from __future__ import annotations

import logging

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django_htmx.middleware import HtmxMiddleware

from config.errors import TryAgain
from config.locks import is_retryable

logger = logging.getLogger(__name__)


class RetryableConflictMiddleware:
    """A deadlock or serialization failure that reaches a page is a 409 "try again", not a 500.

    The transaction that met it was rolled back whole, so nothing was written and the same
    click a moment later goes through (config/locks.py says why these should be rare)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_retryable(exception):
            return None
        logger.warning("Concurrent write on %s %s: %s", request.method, request.path, exception)
        return render(request, "try_again.html", {"error": TryAgain()}, status=409)


# What an export sends: a file of the tenant's records, whoever asked for it.
EXPORT_TYPES = ("text/csv", "application/jsonl")


class NoStoreMiddleware:
    """What a signed-in person sees, and every export, is never kept by a browser's cache or a
    proxy: `Cache-Control: no-store`. A shared computer's back button or a caching proxy would
    otherwise show one person's tickets, audit log or CSV to the next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or response.get("Content-Type", "").startswith(EXPORT_TYPES):
            patch_cache_control(response, no_store=True)
        return response


# --- What the agent API skips (issue 21.4) ----------------------------------------------------
# The API authenticates by bearer key, sets request.tenant itself and answers JSON: sessions, the
# signed-in user, messages, the content-security policy, htmx and the current tenant are work a
# gate call would pay for and never use. Its HTML pages (the docs) keep all of it, strict CSP
# included. (The X-Frame-Options middleware stays as it is: it costs one header, and the
# deployment check looks for it by name.)
API_PREFIX = "/api/"
API_PAGES = ("/api/v1/docs",)


def is_api_call(request) -> bool:
    path = request.path_info
    return path.startswith(API_PREFIX) and not path.startswith(API_PAGES)


class SkippedByApiMixin:
    """Runs the middleware for pages, and passes an API call straight through."""

    def __call__(self, request):
        if is_api_call(request):
            return self.get_response(request)
        return super().__call__(request)


# Subclasses, so Django's admin checks (admin.E408–E410) still find them in MIDDLEWARE.
class PagesSessionMiddleware(SkippedByApiMixin, SessionMiddleware):
    pass


class PagesAuthenticationMiddleware(SkippedByApiMixin, AuthenticationMiddleware):
    pass


class PagesMessageMiddleware(SkippedByApiMixin, MessageMiddleware):
    pass


class PagesCSPMiddleware(SkippedByApiMixin, CSPMiddleware):
    pass


class PagesHtmxMiddleware(SkippedByApiMixin, HtmxMiddleware):
    pass
