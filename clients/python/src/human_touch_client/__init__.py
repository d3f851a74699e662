"""The Python client of the Human Touch agent API.

    from human_touch_client import Client, Blocked

    with Client(base_url="http://127.0.0.1:8000", api_key=KEY) as client:
        with client.run(task="budget-pacing", estimate_usd="0.50") as run:
            run.step("tool_round")
            outcome = run.change_set(track="always_on", items=[...], reason="...")
            if outcome.pending:
                client.tickets.wait(outcome.ticket)

docs/agent-api.md ("The Python client") explains the rules it follows.
"""

from human_touch_client.client import (
    API_VERSION,
    AsyncClient,
    Client,
    __version__,
)
from human_touch_client.errors import (
    ApiError,
    Blocked,
    Conflict,
    Forbidden,
    HumanTouchError,
    IncompatibleServer,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
    WaitTimeout,
)
from human_touch_client.results import (
    Alignment,
    AlignmentEntity,
    AlignmentHold,
    AsyncTicket,
    AuditEvent,
    AuditPage,
    ChangeSet,
    ChangeSetItem,
    ChangeSetOutcome,
    CreativeTheme,
    CurrentPlan,
    Decision,
    Draft,
    GateAnswer,
    ObservationsAccepted,
    PlanSubmitted,
    PlatformAccount,
    ProtocolError,
    QcResult,
    Recommendation,
    Reconciliation,
    Reconciliations,
    ReservationReleased,
    Run,
    RunCreated,
    Spend,
    Ticket,
    TicketRef,
    Upserted,
    WhoAmI,
)
from human_touch_client.retry import RetryPolicy
from human_touch_client.runs import AsyncLlmCall, AsyncRunContext, LlmCall, RunContext

__all__ = [
    "API_VERSION",
    "ApiError",
    "AsyncClient",
    "AsyncLlmCall",
    "AsyncRunContext",
    "AsyncTicket",
    "AuditEvent",
    "AuditPage",
    "Blocked",
    "ChangeSet",
    "ChangeSetItem",
    "ChangeSetOutcome",
    "CreativeTheme",
    "Client",
    "Conflict",
    "CurrentPlan",
    "Decision",
    "Draft",
    "Forbidden",
    "GateAnswer",
    "HumanTouchError",
    "IncompatibleServer",
    "Invalid",
    "LlmCall",
    "NotFound",
    "PayloadTooLarge",
    "PlanSubmitted",
    "ProtocolError",
    "QcResult",
    "RateLimited",
    "ObservationsAccepted",
    "PlatformAccount",
    "Alignment",
    "AlignmentEntity",
    "AlignmentHold",
    "Reconciliation",
    "Reconciliations",
    "Recommendation",
    "ReservationReleased",
    "RetryPolicy",
    "Run",
    "RunContext",
    "RunCreated",
    "ServerError",
    "Spend",
    "Ticket",
    "TicketRef",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "Upserted",
    "WaitTimeout",
    "WhoAmI",
    "__version__",
]
