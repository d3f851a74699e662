"""The only writers of agent keys, runs, the gate, the Cost Guard and QC results, split by job:
`keys`, `runs` (a run and its standing), `gate`, `spend` (spend reports and the Cost Guard),
`reservations`, `qc`, and `tickets` (what approvals calls when an A8 or A9 about a run is
decided). Reads are in agents/selectors.py."""

from agents.services.gate import run_gate
from agents.services.keys import agent_key_authenticate, agent_key_create, agent_key_revoke
from agents.services.qc import qc_result_record
from agents.services.reservations import reservation_release
from agents.services.runs import GateAnswer, RunError, run_create, run_create_within, run_get
from agents.services.spend import run_spend
from agents.services.tickets import run_cost_guard_clear

__all__ = [
    "GateAnswer",
    "RunError",
    "agent_key_authenticate",
    "agent_key_create",
    "agent_key_revoke",
    "qc_result_record",
    "reservation_release",
    "run_cost_guard_clear",
    "run_create",
    "run_create_within",
    "run_gate",
    "run_get",
    "run_spend",
]
