"""Runs built through the agent API, as agents build them (tests call the real endpoints)."""

from __future__ import annotations

import json

from agents.models import AgentRun


def post(client, headers, path, body=None):
    return client.post(
        f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


def run_create(client, headers, run_id="run-93ab", **fields) -> AgentRun:
    body = {
        "run_id": run_id,
        "main_task_id": "weekly-report",
        "agent": "reporting-agent",
        "model": "gpt-5-mini",
        "estimated_cost_usd": "2.00",
        **fields,
    }
    response = post(client, headers, "/runs", body)
    assert response.status_code == 201, response.content
    return AgentRun.objects.get(run_id=run_id)


def gate(client, headers, run_id, kind, **extra):
    return post(client, headers, f"/runs/{run_id}/gate", {"kind": kind, **extra})


def spend(client, headers, run_id, cost, input_tokens=1200, output_tokens=300, **extra):
    body = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": cost,
        **extra,
    }
    response = post(client, headers, f"/runs/{run_id}/spend", body)
    assert response.status_code == 200, response.content
    return response.json()


def qc(client, headers, run_id, subtask_id, passed, attempt=1, codes=()):
    body = {
        "subtask_id": subtask_id,
        "passed": passed,
        "failure_codes": list(codes),
        "attempt": attempt,
    }
    response = post(client, headers, f"/runs/{run_id}/qc-results", body)
    assert response.status_code == 201, response.content
    return response.json()


def loop_blocked(client, headers, run_id="run-93ab", **fields) -> AgentRun:
    """A run that asked for a 6th tool round (the limit is 5): blocked with its A8."""
    run_create(client, headers, run_id, **fields)
    for _ in range(5):
        assert gate(client, headers, run_id, "tool_round").status_code == 200
    assert gate(client, headers, run_id, "tool_round").status_code == 423
    return AgentRun.objects.get(run_id=run_id)


def cost_blocked(client, headers, run_id="run-93ab", **fields) -> AgentRun:
    """A run estimated at $2.00 that spent $6.50 (the line is $6.00): blocked with its A9."""
    run_create(client, headers, run_id, **fields)
    for cost in ("1.25", "2.00", "3.25"):
        assert gate(client, headers, run_id, "llm_call").status_code == 200
        spend(client, headers, run_id, cost)
    return AgentRun.objects.get(run_id=run_id)
