"""human-touch-mcp: an MCP client lists the tools and calls each one against a live server; a
blocked step reads as a STOP instruction naming the ticket — a tool result, never an error the
model would retry. The console script serves the same tools over stdio and streamable HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from human_touch_client import AsyncClient
from human_touch_client.mcp_server import build_server
from mcp.client import Client as McpClient
from mcp.client.stdio import StdioServerParameters

from agents.models import AgentRun, QcResult
from approvals.models import Ticket
from optimization.models import ChangeSet
from plans.models import PlanVersion
from tests.client.conftest import FAST, in_a_loop_of_its_own
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db(transaction=True)

TOOLS = {
    "start_run",
    "gate_step",
    "reserve_llm_call",
    "report_spend",
    "release_reservation",
    "report_qc_result",
    "get_run",
    "get_current_plan",
    "draft_plan_version",
    "submit_plan_version",
    "submit_change_set",
    "align_track",
    "get_change_set",
    "request_approval",
    "get_ticket",
}


def text(result) -> str:
    return "".join(block.text for block in result.content)


async def session(world, work):
    client = AsyncClient(base_url=world.base_url, api_key=world.key, retry=FAST)
    async with client, McpClient(build_server(client)) as mcp:
        return await work(mcp)


async def a_blocked_run(mcp):
    """A run that asks for a third QC correction (the limit is two), then tries a change set."""
    run = await mcp.call_tool(
        "start_run", {"task": "t", "estimate_usd": "0.5", "model": "m", "run_id": "run-m"}
    )
    assert not run.is_error
    answers = [
        await mcp.call_tool("gate_step", {"run_id": "run-m", "kind": "qc_correction"})
        for _ in range(3)
    ]
    change_set = await mcp.call_tool(
        "submit_change_set",
        {
            "track": "always_on",
            "run_id": "run-m",
            "reason": "More.",
            "items": [
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": "300.00",
                    "after": "305.00",
                }
            ],
        },
    )
    refused = await mcp.call_tool("get_ticket", {"ticket": "A8-NOPE"})
    return answers, change_set, refused


def test_an_mcp_session_calls_every_tool_and_a_blocked_step_reads_as_a_stop_instruction(world):
    calls = {}

    async def work(mcp):
        listed = (await mcp.list_tools()).tools
        calls["listed"] = {tool.name: tool for tool in listed}

        async def use(name, **arguments):
            result = await mcp.call_tool(name, arguments)
            calls[name] = result
            assert not result.is_error, text(result)
            return result.structured_content

        run = await use("start_run", task="budget-pacing", estimate_usd="0.50", model="gpt-5")
        run_id = run["run_id"]
        await use("gate_step", run_id=run_id, kind="tool_round")
        reserved = await use("reserve_llm_call", run_id=run_id, expected_usd=0.1)
        await use(
            "report_spend",
            run_id=run_id,
            cost_usd="0.07",
            input_tokens=700,
            output_tokens=60,
            reservation=reserved["reservation"],
        )
        spare = await use("reserve_llm_call", run_id=run_id, expected_usd="0.05")
        await use("release_reservation", run_id=run_id, reservation=spare["reservation"])
        await use("report_qc_result", run_id=run_id, subtask_id="copy", passed=True)
        await use("get_run", run_id=run_id)
        await use("get_current_plan", track="always_on")
        draft = await use(
            "draft_plan_version",
            track="always_on",
            kind="revise",
            payload=changed(winter_plan(), search_up_12_pct),
            reason="Search converts in December.",
        )
        await use("submit_plan_version", number=draft["number"])
        outcome = await use(
            "submit_change_set",
            track="always_on",
            run_id=run_id,
            reason="Social converts: +13%.",
            items=[
                {
                    "entity_id": "social-prospecting",
                    "field": "daily_budget",
                    "before": "380.00",
                    "after": "430.00",
                }
            ],
        )
        await use("align_track", track="always_on")
        await use("get_change_set", change_set_id=outcome["change_set_id"])
        await use("get_ticket", ticket=outcome["ticket"])
        await use("request_approval", type="A7", title="New claim in the winter copy")
        calls["blocked"] = await a_blocked_run(mcp)
        return run_id

    run_id = in_a_loop_of_its_own(session, world, work)

    assert set(calls["listed"]) == TOOLS
    for tool in calls["listed"].values():
        assert tool.description and len(tool.description) > 40, tool.name
        for name, spec in tool.input_schema["properties"].items():
            assert spec.get("description"), f"{tool.name}({name})"
    assert set(calls) - {"listed", "blocked"} == TOOLS
    run = AgentRun.objects.get(run_id=run_id)
    assert (run.actual_cost_usd, run.reserved_usd) == (Decimal("0.07"), Decimal("0"))
    assert (run.tool_rounds, run.agent) == (1, "optimizer")
    assert QcResult.objects.filter(run=run).count() == 1
    assert PlanVersion.objects.filter(tenant=world.tenant, status="pending_approval").count() == 1
    change_set = ChangeSet.objects.get(tenant=world.tenant)
    assert change_set.status == "pending_approval" and change_set.ticket in text(
        calls["submit_change_set"]
    )
    assert "Do not submit it again" in text(calls["submit_change_set"])
    # The entities were synced on v1, the approved version: nothing to align, nothing submitted.
    assert "aligned" in text(calls["align_track"])
    assert "still open" in text(calls["get_ticket"])
    assert Ticket.objects.filter(tenant=world.tenant, type="A7").exists()

    answers, change_set, refused = calls["blocked"]
    a8 = Ticket.objects.get(tenant=world.tenant, type="A8", run_id="run-m")
    assert [a.is_error for a in answers] == [False, False, False]  # never an error to retry
    assert [a.structured_content.get("stop", False) for a in answers] == [False, False, True]
    stop = answers[2]
    assert text(stop).startswith("STOP.") and a8.public_id in text(stop)
    assert "Do not retry" in text(stop)
    assert stop.structured_content["ticket"] == a8.public_id
    assert stop.structured_content["reason"] == "loop_limit:qc_correction"
    assert not change_set.is_error and change_set.structured_content["ticket"] == a8.public_id
    assert ChangeSet.objects.filter(tenant=world.tenant, run_id="run-m").count() == 0
    assert refused.is_error and "not_found" in text(refused)  # bad input: an error to correct


def script() -> str:
    found = shutil.which("human-touch-mcp", path=str(Path(sys.executable).parent))
    assert found, "human-touch-mcp is installed with the client (pip install -e ./clients/python)"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_console_script_serves_the_tools_over_stdio_and_streamable_http(world):
    env = {**os.environ, "HT_BASE_URL": world.base_url, "HT_API_KEY": world.key}
    port = free_port()
    served = subprocess.Popen(
        [script(), "--transport", "streamable-http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def work():
        async with McpClient(StdioServerParameters(command=script(), env=env)) as mcp:
            tools = {tool.name for tool in (await mcp.list_tools()).tools}
            over_stdio = await mcp.call_tool("get_current_plan", {"track": "always_on"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                await anyio.sleep(0.1)
        async with McpClient(f"http://127.0.0.1:{port}/mcp") as mcp:
            over_http = await mcp.call_tool("get_current_plan", {"track": "always_on"})
        return tools, over_stdio, over_http

    try:
        tools, over_stdio, over_http = in_a_loop_of_its_own(work)
    finally:
        served.terminate()
        served.wait(10)

    assert tools == TOOLS
    assert over_stdio.structured_content["number"] == 1
    assert over_http.structured_content["track"] == "always_on"
