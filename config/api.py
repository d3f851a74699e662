"""The agent API under /api/v1/: one NinjaAPI, every error as {"error", "detail"} JSON.

Besides the endpoint errors (DomainError, validation, auth, 404), the API answers in the same
shape where django-ninja would not: a method a path doesn't take (405), a path no router serves
(404), a body that is not JSON (422) and an unexpected failure (500, logged).
"""

import json
import logging
import math
from functools import wraps
from http import HTTPStatus

import psycopg
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from agents.services import agent_key_authenticate
from api.base import (
    API_VERSION,
    ERROR_DESCRIPTIONS,
    ErrorOut,
    documented_components,
    with_documented_refs,
)
from api.ratelimit import RateLimited, rate_limit_check
from config.client_address import client_address
from config.errors import DomainError, TryAgain
from config.locks import is_retryable

logger = logging.getLogger(__name__)


class AgentKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`: the key's tenant is the only one the request acts for."""

    def authenticate(self, request: HttpRequest, token: str):
        key = agent_key_authenticate(token)
        if key is None:
            # Wrong keys count against the address they come from: guessing is rate-limited too.
            rate_limit_check(f"address:{client_address(request)}")
            return None
        rate_limit_check(f"key:{key.pk}")
        request.agent_key = key
        request.tenant = key.tenant
        return key


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # Python reads 1e999 as inf, which no JSON column stores and no amount means.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large for a number")
    return number


# No body of the API needs more (a plan payload is five levels deep); deeper JSON would only
# reach code that walks it recursively — Python's own parser gives up near a thousand.
JSON_MAX_DEPTH = 32


class JsonTooDeep(ValueError):
    pass


def _deeper_than(value, limit: int) -> bool:
    """Whether `value` nests more than `limit` arrays or objects (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class StrictJsonParser(Parser):
    """json.loads, minus the NaN/Infinity Python accepts but JSON (and every later step) doesn't,
    and minus JSON nested more than JSON_MAX_DEPTH levels deep."""

    def parse_body(self, request):
        too_deep = JsonTooDeep(f"The body is nested more than {JSON_MAX_DEPTH} levels deep.")
        try:
            data = json.loads(
                request.body, parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except RecursionError:
            raise too_deep from None
        if _deeper_than(data, JSON_MAX_DEPTH):
            raise too_deep
        return data


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

    def get_openapi_schema(self, **kwargs):
        """Every operation lists the errors it can answer with, in the error schema: 401 and 429
        on all (they all need a key, counted against the rate limit), 413 and 422 on those
        taking a body, and what each one declared."""
        schema = super().get_openapi_schema(**kwargs)
        schema["paths"] = with_documented_refs(schema["paths"])
        schema["components"] = with_documented_refs(schema["components"])
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        components = schema["components"].setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema())
        for name, component in documented_components().items():
            components.setdefault(name, component)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                statuses = {401, 429} | ({413, 422} if "requestBody" in operation else set())
                if operation.get("parameters"):
                    statuses.add(422)
                for status in statuses:
                    responses.setdefault(status, {})
                for status, answer in responses.items():
                    if int(status) in ERROR_DESCRIPTIONS:
                        answer["description"] = ERROR_DESCRIPTIONS[int(status)]
                        answer["content"] = {"application/json": {"schema": error_ref}}
        return schema


api = HumanTouchAPI(
    title="Human Touch agent API",
    version=API_VERSION,
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


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.body(), status=exc.status)


@api.exception_handler(RateLimited)
def on_rate_limited(request, exc: RateLimited):
    response = api.create_response(request, exc.body(), status=exc.status)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(
        request, 401, "unauthorized", "Send a valid key as 'Authorization: Bearer <key>'."
    )


def field_as_sent(loc) -> str:
    """A pydantic error location as the client wrote the field: `items[0].after`, never the
    handler's parameter name (`data.title`) or where ninja found it (`body`, `path`, `query`)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        where = parts.pop(0)
        if where == "body" and len(parts) > 1:
            parts.pop(0)  # the endpoint's argument holding the whole body
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _message(error: dict) -> str:
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(field_as_sent(error.get("loc", ())), []).append(_message(error))
    detail = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
    return _error(request, 422, "validation_error", detail or "Invalid input.", fields=fields)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request, exc: DjangoValidationError):
    fields = (
        {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    detail = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
    return _error(request, 422, "validation_error", detail, fields=fields)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(
        request,
        413,
        "payload_too_large",
        f"The body is larger than the limit of {limit:,} bytes; send fewer items per call.",
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "No such resource for this key's tenant.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # django-ninja raises HttpError(400) from whatever the body parser raised.
    if exc.status_code == 400 and isinstance(exc.__cause__, JsonTooDeep):
        return _error(request, 422, "invalid_json", str(exc.__cause__))
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return _error(request, 422, "invalid_json", f"The body is not valid JSON: {exc.__cause__}")
    if exc.status_code == 400 and isinstance(exc.__cause__, RequestDataTooBig):
        return on_body_too_big(request, exc.__cause__)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return _error(request, exc.status_code, code, str(exc))


# Connection failures: no server (psycopg gives no SQLSTATE), class 08 (connection exception),
# and a server shutting down or starting (57P01-57P03).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
RETRY_AFTER_SECONDS = 10


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached (as opposed to an error in what was asked of it)."""
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    if not isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


@api.exception_handler(Exception)
def on_unexpected_error(request, exc: Exception):
    if is_retryable(exc):
        logger.warning("Concurrent write on %s %s: %s", request.method, request.path, exc)
        return on_domain_error(request, TryAgain())
    if database_unavailable(exc):
        logger.error("Database unavailable on %s %s: %s", request.method, request.path, exc)
        response = _error(
            request,
            503,
            "unavailable",
            f"The database can't be reached right now; try again in {RETRY_AFTER_SECONDS} seconds.",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
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
