"""`human-touch-mcp`: the agent's side of Human Touch as MCP tools, for any agent framework that
reaches tools through the Model Context Protocol.

    HT_BASE_URL=http://127.0.0.1:8000 HT_API_KEY=ht_… human-touch-mcp            # stdio
    HT_BASE_URL=… HT_API_KEY=… human-touch-mcp --transport streamable-http --port 8765

Built on `AsyncClient`, so the client's rules hold (idempotency ids reused on retries, backoff on
409 `try_again`, 429 and 503). A blocked run or a refused step (423) is not an error the model
might retry: it is a tool result that says STOP and names the ticket a person has to resolve.
Input the server refuses (4xx) comes back as a tool error with the server's words, so the model
can correct it.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from human_touch_client.client import AsyncClient
from human_touch_client.errors import (
    ApiError,
    Blocked,
    HumanTouchError,
    RateLimited,
    ServerError,
    TransportError,
)
from human_touch_client.results import Result

INSTRUCTIONS = """\
Human Touch is the control room where people approve what AI agents do to media plans and ad
budgets. Work through these tools:
1. start_run once, with the task and what it should cost in USD.
2. gate_step before each step (kind tool_round for a tool round, qc_correction when you redo work
   after a failed check). reserve_llm_call before each model call, report_spend after it.
3. Read the plan with get_current_plan; propose budget or bid moves with submit_change_set. A
   change beyond the guardrails waits for a person: it answers pending_approval with a ticket —
   do not submit it again; look at the ticket later with get_ticket.
When a tool answers STOP, stop working on that run: a person has to resolve the ticket it names.
Never retry a STOP."""

TRACK = Annotated[str, Field(description="a track of the tenant: always_on, branding, …")]
RUN_ID = Annotated[str, Field(description="the run_id start_run gave you")]
USD = Annotated[Decimal, Field(description="what the call cost in USD, e.g. 0.12", ge=0)]

READ = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
WRITE_ONCE = ToolAnnotations(readOnlyHint=False, idempotentHint=True, openWorldHint=False)
COUNTED = ToolAnnotations(readOnlyHint=False, idempotentHint=False, openWorldHint=False)


class ChangeItem(BaseModel):
    """One field of one live entity, from what is live to what you want."""

    entity_id: str | None = Field(
        description="the platform entity (campaign, ad set) as the live manifest names it; null "
        "for a structural change"
    )
    field: Literal[
        "daily_budget",
        "bid",
        "bid_strategy",
        "audiences",
        "creative_rotation",
        "status",
        "channel",
        "objective",
        "geo",
    ] = Field(
        description="daily_budget, bid, bid_strategy, audiences, creative_rotation and status "
        "are optimizations; channel, objective and geo are structural (always blocked: they need "
        "a plan revise or replan)"
    )
    before: Any = Field(description="the live value now (money as a string such as '300.00')")
    after: Any = Field(description="the value you want")


def stop(blocked: Blocked) -> CallToolResult:
    """A 423 as the model must read it: stop, and who has to act."""
    waits = f"Ticket {blocked.ticket} waits for a person" if blocked.ticket else "A person must act"
    text = (
        f"STOP. {blocked.detail} {waits}; until they resolve it, this work is blocked ("
        f"{blocked.reason}). Do not retry and do not work around it: end this task and report "
        f"the ticket to whoever started you."
    )
    data = {
        "stop": True,
        "error": blocked.error,
        "reason": blocked.reason,
        "ticket": blocked.ticket,
        "detail": blocked.detail,
    }
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def answer(summary: str, data: Result | dict[str, Any]) -> CallToolResult:
    body = data.raw if isinstance(data, Result) else data
    text = f"{summary}\n{json.dumps(body, default=str)}"
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=body)


async def guarded(work: Callable[[], Awaitable[CallToolResult]]) -> CallToolResult:
    """Run one tool: a 423 is a STOP result, any other refusal a tool error in the server's
    words (the model may correct its input), an unreachable server a tool error to wait out."""
    try:
        return await work()
    except Blocked as blocked:
        return stop(blocked)
    except (RateLimited, ServerError, TransportError) as error:
        raise ToolError(
            f"Human Touch is not answering now ({error}); wait a minute before trying again."
        ) from error
    except ApiError as error:
        fields = "".join(
            f" {name}: {' '.join(problems)}." for name, problems in error.fields.items()
        )
        raise ToolError(f"Refused ({error.error}): {error.detail}{fields}") from error
    except HumanTouchError as error:
        raise ToolError(str(error)) from error


def build_server(client: AsyncClient) -> MCPServer:
    """The MCP server whose tools call Human Touch through `client`."""
    server = MCPServer(name="human-touch", instructions=INSTRUCTIONS)

    def tool(annotations: ToolAnnotations):
        return server.tool(annotations=annotations, structured_output=False)

    # --- runs, the gate, spend --------------------------------------------------------------
    @tool(WRITE_ONCE)
    async def start_run(
        task: Annotated[str, Field(description="what this run does, e.g. budget-pacing")],
        estimate_usd: Annotated[
            Decimal,
            Field(
                description="what the whole run should cost in LLM calls, in USD; the Cost "
                "Guard stops the run at a multiple of it",
                gt=0,
            ),
        ],
        model: Annotated[str, Field(description="the model you run on")],
        agent: Annotated[str, Field(description="your agent's name (default: the key's)")] = "",
        run_id: Annotated[str, Field(description="reuse to resume a run you started")] = "",
    ) -> CallToolResult:
        """Register a run before its first step. Returns the run_id every other run tool takes."""

        async def work():
            agent_name = agent or (await client.whoami()).key_name
            created = await client.runs.create(
                run_id=run_id or None,
                main_task_id=task,
                agent=agent_name,
                model=model,
                estimated_cost_usd=estimate_usd,
            )
            return answer(
                f"Run {created.run_id} is {created.state}. Call gate_step before each step.",
                created,
            )

        return await guarded(work)

    @tool(COUNTED)
    async def gate_step(
        run_id: RUN_ID,
        kind: Annotated[
            Literal["step", "tool_round", "qc_correction", "orchestrator_retry"],
            Field(
                description="tool_round before a round of tool calls, qc_correction before "
                "redoing work a check failed, orchestrator_retry before retrying a subtask, "
                "step otherwise"
            ),
        ] = "step",
    ) -> CallToolResult:
        """Ask Human Touch before each step. Allowed: go on. STOP: the run hit a loop limit or
        the Cost Guard, and a person has to clear it — stop working on this run."""

        async def work():
            gate = await client.runs.gate(run_id, kind)
            return answer(f"Allowed: go on with the {kind}.", gate)

        return await guarded(work)

    @tool(COUNTED)
    async def reserve_llm_call(
        run_id: RUN_ID,
        expected_usd: Annotated[
            Decimal, Field(description="what the next model call should cost in USD", gt=0)
        ],
    ) -> CallToolResult:
        """Before a model call: reserve its expected cost against the run's Cost Guard. Gives a
        reservation for report_spend, or STOP when the call would cross the run's cost line."""

        async def work():
            gate = await client.runs.gate(run_id, "llm_call", expected_cost_usd=expected_usd)
            return answer(
                f"Reserved ${expected_usd}: make the call, then report_spend with reservation "
                f"{gate.reservation} (or release_reservation if you do not make it).",
                gate,
            )

        return await guarded(work)

    @tool(WRITE_ONCE)
    async def report_spend(
        run_id: RUN_ID,
        cost_usd: USD,
        input_tokens: Annotated[int, Field(ge=0, description="the call's prompt tokens")],
        output_tokens: Annotated[int, Field(ge=0, description="the call's completion tokens")],
        reservation: Annotated[
            str, Field(description="the reservation reserve_llm_call gave you")
        ] = "",
    ) -> CallToolResult:
        """After a model call: report what it cost (settles its reservation; a report sent twice
        with the same reservation counts once)."""

        async def work():
            spend = await client.runs.spend(
                run_id,
                cost_usd=cost_usd,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                reservation=reservation or None,
            )
            if spend.blocked:
                return stop(
                    Blocked(
                        status=423,
                        error="run_blocked",
                        detail=f"Run {run_id} has spent ${spend.actual_cost_usd} of an estimated "
                        f"${spend.estimated_cost_usd}: the Cost Guard tripped.",
                        ticket=spend.ticket,
                        reason="cost_guard",
                    )
                )
            return answer(
                f"Recorded: run {run_id} has spent ${spend.actual_cost_usd} of an estimated "
                f"${spend.estimated_cost_usd}.",
                spend,
            )

        return await guarded(work)

    @tool(WRITE_ONCE)
    async def release_reservation(
        run_id: RUN_ID,
        reservation: Annotated[str, Field(description="the reservation you will not use")],
    ) -> CallToolResult:
        """Release a reservation when the model call it was for will not be made."""

        async def work():
            released = await client.runs.release(run_id, reservation)
            return answer(f"Reservation {released.reservation} is {released.status}.", released)

        return await guarded(work)

    @tool(COUNTED)
    async def report_qc_result(
        run_id: RUN_ID,
        subtask_id: Annotated[str, Field(description="the subtask the check was about")],
        passed: Annotated[bool, Field(description="whether the check passed")],
        attempt: Annotated[int, Field(ge=1, description="1 for the first try")] = 1,
        failure_codes: Annotated[
            list[str] | None, Field(description="why it failed, as short codes")
        ] = None,
    ) -> CallToolResult:
        """Record a quality check's verdict on one attempt of a subtask."""

        async def work():
            qc = await client.runs.qc_result(
                run_id,
                subtask_id=subtask_id,
                passed=passed,
                attempt=attempt,
                failure_codes=failure_codes or [],
            )
            return answer(f"QC result {qc.id} recorded.", qc)

        return await guarded(work)

    @tool(READ)
    async def get_run(run_id: RUN_ID) -> CallToolResult:
        """A run as Human Touch sees it: state, counts against the limits, costs, open tickets."""

        async def work():
            run = await client.runs.get(run_id)
            return answer(f"Run {run.run_id} is {run.state}.", run)

        return await guarded(work)

    # --- plans -------------------------------------------------------------------------------
    @tool(READ)
    async def get_current_plan(track: TRACK) -> CallToolResult:
        """The approved plan version of a track: objective, KPI targets, channels with budgets
        and flights. Everything you change is measured against it."""

        async def work():
            plan = await client.plans.current(track)
            return answer(f"v{plan.number} is the approved plan of {plan.track}.", plan)

        return await guarded(work)

    @tool(COUNTED)
    async def draft_plan_version(
        track: TRACK,
        kind: Annotated[
            Literal["revise", "replan", "track_draft", "event_draft"],
            Field(
                description="revise: same objective and channels, new targets or flights; "
                "replan: new channel, objective, KPI or market"
            ),
        ],
        payload: Annotated[
            dict[str, Any],
            Field(description="the whole plan as get_current_plan returns its payload, changed"),
        ],
        reason: Annotated[str, Field(description="why, for the planners")] = "",
    ) -> CallToolResult:
        """File a draft of the next plan version. Nothing changes until people approve it."""

        async def work():
            draft = await client.plans.draft(track, kind=kind, payload=payload, reason=reason)
            return answer(
                f"Draft v{draft.number} filed ({draft.path}: {draft.path_reason}). Send it to "
                "people with submit_plan_version.",
                draft,
            )

        return await guarded(work)

    @tool(WRITE_ONCE)
    async def submit_plan_version(
        number: Annotated[int, Field(description="the draft's number", ge=1)],
    ) -> CallToolResult:
        """Send a draft for approval; answers with the ticket people decide on."""

        async def work():
            submitted = await client.plans.submit(number)
            return answer(
                f"v{submitted.number} waits for approval on {submitted.ticket}.", submitted
            )

        return await guarded(work)

    # --- change sets ------------------------------------------------------------------------
    @tool(WRITE_ONCE)
    async def submit_change_set(
        track: TRACK,
        items: Annotated[list[ChangeItem], Field(min_length=1, description="the fields to change")],
        reason: Annotated[str, Field(description="why, in a sentence people will read")],
        run_id: Annotated[str, Field(description="the run this is part of")] = "",
        change_set_id: Annotated[
            str, Field(description="send the same id to repeat a submission safely")
        ] = "",
    ) -> CallToolResult:
        """Propose changes to live entities (budgets, bids, audiences, status). Human Touch
        applies them when they are within the guardrails; otherwise they wait for a person
        (pending_approval, with a ticket) or are blocked (structural changes)."""

        async def work():
            outcome = await client.change_sets.submit(
                track=track,
                items=[item.model_dump() for item in items],
                reason=reason,
                run_id=run_id,
                change_set_id=change_set_id or None,
            )
            if outcome.pending:
                summary = (
                    f"Waiting for people: {outcome.reason} Nothing is applied until "
                    f"{outcome.ticket} is approved. Do not submit it again; check it later with "
                    "get_ticket."
                )
            elif outcome.blocked:
                summary = (
                    f"Blocked: {outcome.reason} This is not an optimization; it needs a plan "
                    "revise or replan (draft_plan_version)."
                )
            else:
                summary = f"{outcome.status}: {outcome.reason}"
            return answer(summary, outcome)

        return await guarded(work)

    @tool(WRITE_ONCE)
    async def align_track(
        track: TRACK,
        change_set_id: Annotated[
            str, Field(description="send the same id to repeat an alignment safely")
        ] = "",
    ) -> CallToolResult:
        """After people approve a new plan version, the live entities must be moved to it. This
        reads what is still to align on the track (each entity's field, live value and target,
        and when it is due) and applies exactly those moves in one alignment change set: no
        approval is needed, the plan was approved. Call it when told alignment is due, or after
        a plan version you drafted is approved; "aligned" means nothing is left to do. Do not
        use submit_change_set for alignment: any other value than the target is refused."""

        async def work():
            alignment = await client.tracks.alignment(track)
            if alignment.aligned:
                return answer(f"{track} runs v{alignment.version}: aligned.", alignment)
            outcome = await client.change_sets.submit(
                track=track,
                kind="alignment",
                reason=f"Align with approved v{alignment.version}.",
                items=[
                    {
                        "entity_id": e.entity_id,
                        "field": e.field,
                        "before": e.live,
                        "after": e.target,
                    }
                    for e in alignment.entities
                ],
                change_set_id=change_set_id or None,
            )
            return answer(
                f"{outcome.status}: {outcome.reason} {len(alignment.entities)} field(s) moved "
                f"to v{alignment.version}'s targets.",
                outcome,
            )

        return await guarded(work)

    @tool(READ)
    async def get_change_set(
        change_set_id: Annotated[str, Field(description="as submit_change_set answered")],
    ) -> CallToolResult:
        """A change set: its status, its items (asked, approved, applied), history and tickets."""

        async def work():
            change_set = await client.change_sets.get(change_set_id)
            return answer(f"{change_set.change_set_id} is {change_set.status}.", change_set)

        return await guarded(work)

    # --- tickets -----------------------------------------------------------------------------
    @tool(WRITE_ONCE)
    async def request_approval(
        type: Annotated[
            Literal["A4", "A7"],
            Field(description="A4: access (accounts, DNS); A7: compliance or policy review"),
        ],
        title: Annotated[str, Field(description="what people are asked, in a line")],
        summary: Annotated[str, Field(description="the facts they need to decide")] = "",
        plan_version: Annotated[
            int | None, Field(description="the plan version it is about")
        ] = None,
        change_set_id: Annotated[str, Field(description="the change set it is about")] = "",
        run_id: Annotated[str, Field(description="your run")] = "",
        platform: Annotated[str, Field(description="the ad platform, if any")] = "",
    ) -> CallToolResult:
        """Ask people for a decision. Answers with the ticket; read it later with get_ticket."""

        async def work():
            ticket = await client.request_approval(
                type=type,
                title=title,
                summary=summary,
                plan_version=plan_version,
                change_set_id=change_set_id,
                run_id=run_id,
                platform=platform,
            )
            waiting = ", ".join(ticket.pending_roles) or "a decision"
            return answer(
                f"{ticket.ticket} is {ticket.status}, waiting for {waiting}. Look at it later "
                "with get_ticket.",
                ticket,
            )

        return await guarded(work)

    @tool(READ)
    async def get_ticket(
        ticket: Annotated[str, Field(description="a ticket id such as A3-GXQQTP7Z")],
    ) -> CallToolResult:
        """A ticket's decision: open (still waiting: look again in a few minutes, not sooner),
        approved, rejected, changes_requested or cancelled, with who decided and why."""

        async def work():
            found = await client.tickets.get(ticket)
            if found.decided:
                summary = f"{found.ticket} is {found.status}."
            else:
                summary = (
                    f"{found.ticket} is still open, waiting for "
                    f"{', '.join(found.pending_roles) or 'a decision'}."
                )
            return answer(summary, found)

        return await guarded(work)

    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="human-touch-mcp",
        description="Human Touch's agent tools over MCP. Set HT_BASE_URL (the server, e.g. "
        "http://127.0.0.1:8000) and HT_API_KEY (a key from manage.py agent_key_create).",
    )
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="streamable-http: where to listen")
    parser.add_argument("--port", type=int, default=8765, help="streamable-http: the port")
    args = parser.parse_args(argv)
    base_url, api_key = os.environ.get("HT_BASE_URL"), os.environ.get("HT_API_KEY")
    if not base_url or not api_key:
        parser.error("set HT_BASE_URL and HT_API_KEY")
    server = build_server(AsyncClient(base_url=base_url, api_key=api_key))
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
