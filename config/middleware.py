"""Project-wide middleware."""

from __future__ import annotations

import logging

from django.shortcuts import render

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
