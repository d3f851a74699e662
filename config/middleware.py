"""Project-wide middleware."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.module_loading import import_string

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


# Hooks Django's handler collects from MIDDLEWARE itself: a middleware wrapped below would lose
# them, so one that has any can't be wrapped.
_HANDLER_HOOKS = ("process_view", "process_exception", "process_template_response")


class PagesOnlyMiddleware:
    """The middleware only pages for people need (settings.PAGES_ONLY_MIDDLEWARE: sessions, the
    signed-in user, messages, the frame and content-security policies, htmx, the current
    tenant), skipped for the agent API (issue 21.4: a gate call pays for none of it).

    The API authenticates by bearer key, sets request.tenant itself and answers JSON; its HTML
    pages (the docs, PAGES_ONLY_KEEP) still get the whole stack, strict CSP included. The
    wrapped middleware run in their listed order, as if listed in MIDDLEWARE here.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        handler = get_response
        for path in reversed(settings.PAGES_ONLY_MIDDLEWARE):
            middleware = import_string(path)
            hooks = [hook for hook in _HANDLER_HOOKS if hasattr(middleware, hook)]
            if hooks:
                raise ImproperlyConfigured(f"{path} has {', '.join(hooks)}: list it in MIDDLEWARE")
            handler = middleware(handler)
        self.pages = handler
        self.skip = tuple(settings.PAGES_ONLY_SKIP)
        self.keep = tuple(settings.PAGES_ONLY_KEEP)

    def __call__(self, request):
        path = request.path_info
        if path.startswith(self.skip) and not path.startswith(self.keep):
            return self.get_response(request)
        return self.pages(request)


# Django admin's own checks (admin.E408–E410) look for these in MIDDLEWARE only; they are
# silenced in settings and checked here instead, where they now are.
_ADMIN_NEEDS = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


@checks.register(checks.Tags.admin)
def pages_only_middleware_check(app_configs=None, **kwargs):
    """The admin's middleware is in MIDDLEWARE or wrapped for pages, in the admin's order."""
    listed = [*settings.MIDDLEWARE, *getattr(settings, "PAGES_ONLY_MIDDLEWARE", [])]
    missing = [path for path in _ADMIN_NEEDS if path not in listed]
    if missing:
        return [
            checks.Error(f"{path} must be in MIDDLEWARE or PAGES_ONLY_MIDDLEWARE", id="config.E001")
            for path in missing
        ]
    positions = [listed.index(path) for path in _ADMIN_NEEDS[:2]]
    if positions != sorted(positions):
        return [
            checks.Error(
                "SessionMiddleware must come before AuthenticationMiddleware", id="config.E002"
            )
        ]
    return []
