"""The agent API under /api/v1/: one NinjaAPI, every error as {"error", "detail"} JSON.

Besides the endpoint errors (ApiError, validation, auth, 404), the API answers in the same
shape where django-ninja would not: a method a path doesn't take (405), a path no router serves
(404), a body that is not JSON (422) and an unexpected failure (500, logged).
"""

import json
import logging
import math
from functools import wraps

from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from agents.api_base import AgentKeyAuth, ApiError

logger = logging.getLogger(__name__)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # Python reads 1e999 as inf, which no JSON column stores and no amount means.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large for a number")
    return number


class StrictJsonParser(Parser):
    """json.loads, minus the NaN/Infinity Python accepts but JSON (and every later step) doesn't."""

    def parse_body(self, request):
        return json.loads(request.body, parse_constant=_refuse_constant, parse_float=_finite_float)


def _error_body(error: str, detail: str, **extra) -> dict:
    return {"error": error, "detail": detail, **extra}


def _json_method_not_allowed(view):
    """django-ninja answers a method a path doesn't take with an HTML 405: make it JSON."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            json_response = JsonResponse(
                _error_body(
                    "method_not_allowed",
                    f"{request.method} is not allowed on {request.path}; use {allowed}.",
                ),
                status=405,
            )
            json_response["Allow"] = allowed
            return json_response
        return response

    return wrapper


@csrf_exempt  # agents POST here with a bearer key, never a session: no CSRF to check
def api_not_found(request, rest: str = ""):
    """Any /api/v1/ path no router serves: the same JSON error shape, never an HTML page."""
    return JsonResponse(
        _error_body("not_found", f"No endpoint at /api/v1/{rest}. See /api/v1/docs."),
        status=404,
    )


class HumanTouchAPI(NinjaAPI):
    @staticmethod
    def _json_view(pattern: URLPattern):
        # django-ninja's /api/v1/ root raises an HTML 404: answer like any unknown path.
        if pattern.name == "api-root":
            return api_not_found
        return _json_method_not_allowed(pattern.callback)

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        wrapped = [
            URLPattern(p.pattern, self._json_view(p), p.default_args, p.name)
            if isinstance(p, URLPattern)
            else p
            for p in patterns
        ]
        wrapped.append(re_path(r"^(?P<rest>.*)$", api_not_found, name="not-found"))
        return wrapped, app_name, namespace


api = HumanTouchAPI(
    title="Human Touch agent API",
    version="1",
    description="For agents and services: one bearer key per tenant "
    "(`Authorization: Bearer <key>`, made with `manage.py agent_key_create`). Every error is "
    '`{"error": "<code>", "detail": "<sentence>"}` with a 4xx status.',
    auth=AgentKeyAuth(),
    parser=StrictJsonParser(),
    # Served from ninja's own static files (ninja is in INSTALLED_APPS), never a CDN. No
    # validator badge: it would fetch an image from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    urls_namespace="api-v1",
)


def _error(request, status: int, error: str, detail: str, **extra):
    return api.create_response(request, _error_body(error, detail, **extra), status=status)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    return api.create_response(request, exc.body(), status=exc.status)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(
        request, 401, "unauthorized", "Send a valid key as 'Authorization: Bearer <key>'."
    )


def _location(loc) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path", "payload"))


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    problems = [
        f"{_location(e.get('loc', [])) or 'body'}: {e.get('msg', 'invalid')}" for e in exc.errors
    ]
    errors = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors]
    return _error(
        request, 422, "validation_error", "; ".join(problems) or "Invalid input.", errors=errors
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "No such resource for this key's tenant.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # django-ninja raises HttpError(400) from whatever the body parser raised.
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return _error(request, 422, "invalid_json", f"The body is not valid JSON: {exc.__cause__}")
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        423: "locked",
        429: "too_many_requests",
    }.get(exc.status_code, "error")
    return _error(request, exc.status_code, code, str(exc))


@api.exception_handler(Exception)
def on_unexpected_error(request, exc: Exception):
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "server_error", "The server failed; the error has been logged.")


def _add_routers() -> None:
    from agents.api import router as agents_router
    from approvals.api import router as approvals_router
    from audit.api import router as audit_router
    from optimization.api import router as optimization_router
    from plans.api import router as plans_router

    for router in (
        agents_router,
        audit_router,
        approvals_router,
        plans_router,
        optimization_router,
    ):
        api.add_router("/", router)


_add_routers()
