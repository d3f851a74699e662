"""/api/v1/openapi.json and /api/v1/docs: no key needed, nothing from a CDN, strict CSP kept."""

import re

import pytest

EXPECTED_PATHS = {"/api/v1/whoami": "get", "/api/v1/audit/events": "get"}


@pytest.mark.django_db
def test_the_openapi_schema_lists_the_endpoints_without_a_key(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, method in EXPECTED_PATHS.items():
        assert method in paths[path]
    events = paths["/api/v1/audit/events"]["get"]
    assert {p["name"] for p in events["parameters"]} == {"after_seq", "limit"}
    assert events["security"] == [{"AgentKeyAuth": []}]


@pytest.mark.django_db
def test_the_schema_says_the_api_version_whoami_answers(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["version"] == "1"
    whoami = schema["paths"]["/api/v1/whoami"]["get"]["responses"]["200"]["content"]
    component = whoami["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    answer = schema["components"]["schemas"][component]
    assert "api_version" in answer["required"]
    assert "client" in answer["properties"]["api_version"]["description"]


@pytest.mark.django_db
def test_the_docs_page_loads_without_a_key_and_only_from_our_own_static_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"https?://", html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page should load swagger-ui's script and stylesheet"
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert '"validatorUrl": null' in html


@pytest.mark.django_db
def test_the_docs_page_has_no_inline_script_and_keeps_the_strict_policy(client):
    response = client.get("/api/v1/docs")
    html = response.content.decode()
    for attributes in re.findall(r"<script([^>]*)>", html):
        # Only src= scripts run; the settings block is JSON data, which CSP doesn't govern.
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
