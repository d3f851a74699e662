"""Project-wide middleware."""

from __future__ import annotations

import logging

from django.shortcuts import render
from django.utils.cache import patch_cache_control

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
