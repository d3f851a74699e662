"""What every API router shares: the acting agent, the error schema and the error answers each
operation lists in the OpenAPI schema.

Every error is JSON {"error": "<code>", "detail": "<sentence>"} with a 4xx status
(docs/agent-api.md), raised as a config.errors.DomainError and shaped by one handler in
config/api.py.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Schema
from pydantic import BaseModel, WithJsonSchema

from audit.actors import Actor

# The agent API's version: the `v1` of its paths, served by `GET /api/v1/whoami` and the OpenAPI
# schema. A change that breaks what CONTRACT.md fixes needs a new one (and /api/v2/); the Python
# client (clients/python) refuses a server that says another.
API_VERSION = "1"

ERROR_DESCRIPTIONS = {
    401: "No valid key: send 'Authorization: Bearer <key>'.",
    403: "The key's agent may not do this.",
    404: "No such resource for this key's tenant.",
    409: "A conflict: another request with this id, a state that does not allow it, or a "
    "concurrent write (try again).",
    413: "The body is larger than the limit.",
    422: "Invalid input; `fields` names the fields at fault as sent.",
    423: "Blocked until a person resolves a ticket (the answer's `ticket`): the run it acts for "
    "(run_blocked), an open compliance review (blocked_by_compliance), a reconciliation "
    "(reconciliation_pending) or an account not onboarded (account_not_onboarded).",
    429: "Over the key's rate limit (API_RATE_LIMIT): wait the Retry-After header's seconds.",
}


class ErrorOut(Schema):
    error: str
    detail: str
    fields: dict[str, list[str]] | None = None


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers of one operation, for its `response=` mapping (401, and 413 for a body,
    are added to every operation by config/api.py)."""
    unknown = set(statuses) - set(ERROR_DESCRIPTIONS)
    if unknown:
        raise ValueError(f"no description for {sorted(unknown)}")
    return dict.fromkeys(statuses, ErrorOut)


def links(*statuses: int, **targets: tuple[str, dict[str, str]]) -> dict:
    """OpenAPI links of an operation's answers, for its `openapi_extra=`: which operation takes a
    value of the answer next (the run_id a POST /runs answers is GET /runs/{run_id}'s). An agent's
    author reads them in the schema; schemathesis' stateful test follows them."""
    described = {
        name: {"operationId": operation, "parameters": parameters}
        for name, (operation, parameters) in targets.items()
    }
    # Integer keys, as ninja keys the responses it builds: the links merge into them.
    return {"responses": {status: {"links": described} for status in statuses}}


def agent_actor(request: HttpRequest, agent_name: str = "") -> Actor:
    """The actor for an API write: the key's agent, named by the body when it says which."""
    return Actor.for_agent(request.agent_key, name=agent_name)


_COMPONENTS: dict[str, type[BaseModel]] = {}
DOCUMENTED_AS = "x-documented-as"


def documented_as(model: type[BaseModel]) -> WithJsonSchema:
    """Document a JSON field as `model` in the OpenAPI schema while the service that owns the
    rule validates it (one validation, with its own error codes): `payload: Annotated[dict,
    documented_as(PlanPayload)]`."""
    _COMPONENTS[model.__name__] = model
    # pydantic would try to resolve a $ref here: a marker the API's schema turns into one.
    return WithJsonSchema({"type": "object", DOCUMENTED_AS: model.__name__})


def with_documented_refs(node):
    """`node` (an OpenAPI schema, or part of it) with every `documented_as` marker replaced by a
    reference to its component."""
    if isinstance(node, dict):
        if DOCUMENTED_AS in node:
            return {"$ref": f"#/components/schemas/{node[DOCUMENTED_AS]}"}
        return {key: with_documented_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_documented_refs(value) for value in node]
    return node


def documented_components() -> dict[str, dict]:
    """The JSON schemas of every model named by `documented_as`, with their nested definitions,
    as OpenAPI components."""
    components = {}
    for name, model in _COMPONENTS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    return components
