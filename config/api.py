from django.http import Http404, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from agents.api_base import AgentKeyAuth, ApiError

api = NinjaAPI(
    title="Human Touch agent API",
    version="1",
    description="For agents and services: one bearer key per tenant. Errors are "
    '{"error": "<code>", "detail": "<sentence>"}.',
    auth=AgentKeyAuth(),
    urls_namespace="api-v1",
)


def _error(request, status: int, error: str, detail: str, **extra):
    return api.create_response(request, {"error": error, "detail": detail, **extra}, status=status)


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
    return _error(
        request, 422, "validation_error", "; ".join(problems) or "Invalid input.", errors=exc.errors
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "No such resource for this key's tenant.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        423: "locked",
    }.get(exc.status_code, "error")
    return _error(request, exc.status_code, code, str(exc))


def api_not_found(request, rest: str = ""):
    """Any /api/v1/ path no router serves: the same JSON error shape, never an HTML page."""
    return JsonResponse(
        {"error": "not_found", "detail": f"No endpoint at /api/v1/{rest}."}, status=404
    )


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
