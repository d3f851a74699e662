"""The client and the server's OpenAPI schema, checked against each other, so a server change
that would break the client fails here: an operation without a client method (or a method whose
operation is gone), an answer field the client reads that the server no longer sends, a request
field the server no longer reads. And the version check: a client refuses a server that speaks
another API version."""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal

import pytest
from human_touch_client import AsyncClient, Client, IncompatibleServer, Unauthorized
from human_touch_client.operations import OPERATIONS

from tests.client.conftest import call, drive

SCHEMA_PREFIX = "#/components/schemas/"


@pytest.fixture
def schema(client, db):
    return client.get("/api/v1/openapi.json").json()


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].removeprefix(SCHEMA_PREFIX)]
    return node


def server_operations(schema: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def test_every_server_operation_has_a_client_method_and_every_method_an_operation(schema):
    server = set(server_operations(schema))
    client = set(OPERATIONS)
    assert sorted(server - client) == [], (
        "The server has operations the client cannot call: add a builder in "
        "clients/python/src/human_touch_client/operations.py, its result in results.py and its "
        "method in client.py (Client and AsyncClient)."
    )
    assert sorted(client - server) == [], "The client calls operations the server no longer has."


def client_methods(client) -> dict:
    """Every method of a client and its namespaces, by the operation builder it sends."""
    found = {}
    for owner in [client, *vars(client).values()]:
        for name in dir(type(owner)):
            if name.startswith("_"):
                continue
            built_from = getattr(getattr(type(owner), name), "__wrapped__", None)
            if built_from is not None:
                found[built_from] = f"{type(owner).__name__}.{name}"
    return found


@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_both_clients_have_a_method_for_every_operation(kind):
    client = kind(base_url="http://127.0.0.1:9", api_key="ht_unused")
    methods = client_methods(client)
    missing = [" ".join(key) for key, build in OPERATIONS.items() if build not in methods]
    assert missing == []


def field_problems(schema: dict, cls: type, answer: dict, where: str) -> list[str]:
    """What `cls` reads that the answer's schema does not promise."""
    answer = resolve(schema, answer)
    properties, required = answer.get("properties", {}), set(answer.get("required", []))
    hints = typing.get_type_hints(cls)
    problems = []
    for spec in fields(cls):
        if spec.name in ("raw", "_client"):
            continue
        if spec.name not in properties:
            problems.append(f"{where}.{spec.name}: the server does not send it")
            continue
        has_default = spec.default is not MISSING or spec.default_factory is not MISSING
        if spec.name not in required and not _optional(hints[spec.name]) and not has_default:
            problems.append(f"{where}.{spec.name}: the server may leave it out")
        nested = _dataclass_in(hints[spec.name])
        if nested is not None:
            inner = resolve(schema, properties[spec.name])
            if inner.get("type") == "array":
                inner = inner["items"]
            if "properties" in resolve(schema, inner):
                problems += field_problems(schema, nested, inner, f"{where}.{spec.name}")
    return problems


def _optional(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


def _dataclass_in(hint):
    if is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        if is_dataclass(arg):
            return arg
    return None


def test_every_answer_field_the_client_reads_is_one_the_server_sends(schema):
    problems = []
    for key, operation in server_operations(schema).items():
        if key not in OPERATIONS:
            continue
        cls = _result_class(OPERATIONS[key])
        answers = operation["responses"]
        success = answers.get("200") or answers.get("201")
        assert success, f"{key}: no success answer in the schema"
        body = success["content"]["application/json"]["schema"]
        problems += field_problems(schema, cls, body, cls.__name__)
    assert problems == []


def _result_class(build) -> type:
    return build(**sample_arguments(build)).result


def sample_arguments(build) -> dict:
    """A value for every parameter of an operation builder, by its annotation."""
    hints = typing.get_type_hints(inspect.unwrap(build))
    return {
        name: _sample(hints[name]) for name in inspect.signature(inspect.unwrap(build)).parameters
    }


def _sample(hint):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)))
    if origin is typing.Literal:
        return args[0]
    if origin is list or hint is list:
        return [_sample(args[0]) if args else {}]
    if origin is dict or hint is dict:
        return {}
    if origin is not None and origin.__name__ == "Iterable":
        return ["x"]
    return {str: "x", int: 1, bool: True, Decimal: Decimal("1.00")}.get(hint, "x")


def test_every_request_field_the_client_sends_is_one_the_server_reads(schema):
    problems = []
    for key, operation in server_operations(schema).items():
        if key not in OPERATIONS:
            continue
        sent = OPERATIONS[key](**sample_arguments(OPERATIONS[key]))
        declared = {p["name"]: p for p in operation.get("parameters", [])}
        for name in sent.path_params:
            if declared.get(name, {}).get("in") != "path":
                problems.append(f"{key}: path parameter {name} is not the server's")
        for name in sent.query or {}:
            if declared.get(name, {}).get("in") != "query":
                problems.append(f"{key}: query parameter {name} is not the server's")
        if "requestBody" not in operation:
            if sent.json is not None:
                problems.append(f"{key}: the client sends a body the server does not read")
            continue
        body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
        properties, required = body.get("properties", {}), body.get("required", [])
        problems += [f"{key}: {name} is not read" for name in sent.json if name not in properties]
        problems += [f"{key}: {name} is required" for name in required if name not in sent.json]
    assert problems == []


# --- the version check, against a live server ---------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_client_goes_on_with_its_own_version_and_refuses_another_before_sending_anything(
    make_client, proxy, world
):
    answers = {
        "newer": {"tenant": "acme", "key_name": "x", "key_prefix": "x", "api_version": "2"},
        "older": {"tenant": "acme", "key_name": "x", "key_prefix": "x"},  # it names none
    }

    async def scenario(client):
        refused = {}
        whoami = await call(client.whoami())
        for name, answer in answers.items():
            proxy.fail("GET", "/api/v1/whoami", status=200, body=answer)
            other = make_client(proxy.url)
            try:
                with pytest.raises(IncompatibleServer) as refused[name]:
                    await call(other.plans.current("always_on"))
            finally:
                if isinstance(other, AsyncClient):
                    await other.aclose()
        wrong_key = make_client(api_key="ht_000000000000_nothing")
        try:
            with pytest.raises(Unauthorized) as refused["key"]:
                await call(wrong_key.plans.current("always_on"))
        finally:
            if isinstance(wrong_key, AsyncClient):
                await wrong_key.aclose()
        return whoami, refused

    whoami, refused = drive(make_client(), scenario)

    assert (whoami.tenant, whoami.api_version) == ("acme", "1")
    assert "speaks API version 2" in str(refused["newer"].value)
    assert "older than this client" in str(refused["older"].value)
    assert "version 1" in str(refused["older"].value)
    assert proxy.requests_to("GET", "/api/v1/tracks/always_on/current") == []
    assert refused["key"].value.status == 401 and "Bearer" in refused["key"].value.detail
