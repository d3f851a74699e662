"""Reads of agent runs for the API and the System Ops pages."""

from __future__ import annotations

from agents.models import CEILING_OF, COUNTER_NAMES, AgentRun
from approvals.models import Ticket, TicketStatus
from tenants.models import TenantPolicy


def run_block_reason(run: AgentRun) -> str:
    """What blocks the run, in the gate's words ("loop_limit:tool_round", "cost_guard")."""
    if run.ended:
        return "run_ended"
    if run.loop_block:
        return f"loop_limit:{COUNTER_NAMES[run.loop_block]}"
    if run.cost_block:
        return "cost_guard"
    return ""


def run_ceilings(policy: TenantPolicy) -> dict[str, int]:
    return {COUNTER_NAMES[column]: getattr(policy, key) for column, key in CEILING_OF.items()}


def run_tickets(run: AgentRun):
    return Ticket.objects.filter(
        tenant_id=run.tenant_id, subject_type="agent_run", subject_id=run.run_id
    ).order_by("created_at")


def run_view(run: AgentRun) -> dict:
    """A run as GET /api/v1/runs/{run_id} answers it."""
    policy = TenantPolicy.objects.get(tenant_id=run.tenant_id)
    calls = list(run.gate_calls.order_by("-at", "-id")[:20])
    return {
        "run_id": run.run_id,
        "main_task_id": run.main_task_id,
        "agent": run.agent,
        "model": run.model,
        "state": run.state,
        "block_reason": run_block_reason(run),
        "counts": run.counts,
        "ceilings": run_ceilings(policy),
        "estimated_cost_usd": str(run.estimated_cost_usd),
        "actual_cost_usd": str(run.actual_cost_usd),
        "reserved_usd": str(run.reserved_usd),
        "trip_line_usd": str(run.estimated_cost_usd * policy.trip_multiplier),
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "open_tickets": [
            {"ticket": t.public_id, "type": t.type, "status": t.status}
            for t in run_tickets(run).filter(status=TicketStatus.OPEN)
        ],
        "recent_gate_calls": [
            {
                "kind": c.kind,
                "allowed": c.allowed,
                "reason": c.reason,
                "global": c.global_steps,
                "at": c.at.isoformat(),
            }
            for c in reversed(calls)
        ],
        "created_at": run.created_at,
    }
