"""schemathesis against /api/v1/openapi.json on a live server (issue 20 item 5): every operation,
authenticated with an agent key of a tenant that has a plan, a run and a ticket, with valid and
invalid input. No answer is a server error, every answer conforms to the schema (status, content
type, body), and every error is the {"error", "detail"} shape.

CI runs a few examples per operation; `HYPOTHESIS_PROFILE=full` (README.md "Proving it",
`make prove`) runs many more.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agents.services import agent_key_create
from tests.conftest import TEST_ACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FULL = os.environ.get("HYPOTHESIS_PROFILE") == "full"
EXAMPLES = 60 if FULL else 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _error_shape(response) -> None:
    if response.status_code < 400:
        return
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("detail"), str) and body["detail"], body


def test_every_operation_answers_within_its_schema(live_server, settings, acme, acme_v1):
    settings.API_RATE_LIMIT = "100000/60s"  # the fuzzer is one key asking fast
    _key, plain = agent_key_create(tenant=acme, name="schemathesis", actor=TEST_ACTOR)
    headers = {"Authorization": f"Bearer {plain}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=not FULL,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call(base_url=live_server.url, headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)
                _error_shape(response)

            try:
                run()
            except Exception as exc:  # noqa: BLE001 (collected: every operation is tried)
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


STEPS = 20 if FULL else 5
SCENARIOS = 40 if FULL else 10


def test_sequences_along_the_schema_links_answer_within_the_schema(
    live_server, settings, acme, acme_v1
):
    """Stateful: schemathesis follows the OpenAPI links the operations declare (api.base.links:
    a run created, then its gate, spend, QC results and detail; a ticket or change set created,
    then read back; a draft made, then submitted), so the operations that take an id are also
    called with ids that exist — not only with made-up ones that answer 404."""
    settings.API_RATE_LIMIT = "100000/60s"
    _key, plain = agent_key_create(tenant=acme, name="schemathesis-stateful", actor=TEST_ACTOR)
    headers = {"Authorization": f"Bearer {plain}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    assert {
        "GET /api/v1/runs/{run_id}",
        "POST /api/v1/runs/{run_id}/gate",
        "GET /api/v1/tickets/{public_id}",
        "GET /api/v1/change-sets/{change_set_id}",
        "POST /api/v1/plan-versions/{number}/submit",
    } <= schema.operations_with_incoming_links()
    statuses: list[tuple[str, int]] = []

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": live_server.url, "headers": headers}

        def validate_response(self, response, case, **kwargs):
            statuses.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS, headers=headers)
            _error_shape(response)

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not FULL,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    # A linked operation found what the link named: its id came from an earlier answer.
    found = {label for label, status in statuses if "{" in label and status != 404}
    assert found, f"no linked operation was called with an existing id: {statuses}"
