"""A run as a context manager: ask the gate before each step, reserve before each LLM call.

    with client.run(task="budget-pacing", estimate_usd="0.50") as run:
        run.step("tool_round")                      # or Blocked, with the A8/A9 ticket
        with run.llm_call(expected_usd="0.04") as call:
            answer = my_model(...)
            call.spent("0.031", input_tokens=812, output_tokens=95)

The LLM call's expected cost is reserved at the gate before the call (refused with `Blocked`
when it would reach the Cost Guard's line) and settled by `spent`. A call left without `spent`
— the model raised, or the code forgot — releases its reservation on the way out.
"""

from __future__ import annotations

import logging
from typing import Any

from human_touch_client.errors import HumanTouchError
from human_touch_client.operations import GateKind, Money, new_id
from human_touch_client.results import ChangeSetOutcome, GateAnswer, QcResult, Run, Spend

logger = logging.getLogger("human_touch_client")


class _RunBase:
    def __init__(
        self,
        client: Any,
        *,
        task: str,
        estimate_usd: Money,
        agent: str | None,
        model: str,
        run_id: str | None,
    ):
        self._client = client
        self.task = task
        self.estimate_usd = estimate_usd
        self.agent = agent
        self.model = model
        self.id = run_id
        self.state = "new"

    def _create_kwargs(self, agent: str) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "main_task_id": self.task,
            "agent": agent,
            "model": self.model,
            "estimated_cost_usd": self.estimate_usd,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.state}>"


class RunContext(_RunBase):
    """What `Client.run()` returns; entering it registers the run (idempotent by its id)."""

    def __enter__(self) -> RunContext:
        self.id = self.id or new_id("run")
        agent = self.agent or self._client.whoami().key_name
        self.agent = agent
        created = self._client.runs.create(**self._create_kwargs(agent))
        self.state = created.state
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def step(self, kind: GateKind = "step") -> GateAnswer:
        """Ask the gate before a step: counted and allowed, or `Blocked` with the ticket."""
        answer = self._client.runs.gate(self.id, kind)
        self.state = answer.state
        return answer

    def llm_call(self, expected_usd: Money) -> LlmCall:
        """A context manager around one model call: reserves `expected_usd` on entry."""
        return LlmCall(self, expected_usd)

    def qc_result(
        self, *, subtask_id: str, passed: bool, attempt: int = 1, failure_codes=()
    ) -> QcResult:
        return self._client.runs.qc_result(
            self.id,
            subtask_id=subtask_id,
            passed=passed,
            attempt=attempt,
            failure_codes=failure_codes,
        )

    def change_set(self, **kwargs: Any) -> ChangeSetOutcome:
        """`client.change_sets.submit(…)` on behalf of this run (so a blocked run's is refused)."""
        kwargs.setdefault("agent", self.agent)
        return self._client.change_sets.submit(run_id=self.id, **kwargs)

    def info(self) -> Run:
        """The run as the server keeps it."""
        run = self._client.runs.get(self.id)
        self.state = run.state
        return run


class LlmCall:
    """One model call's reservation: `spent(...)` settles it; leaving without it releases it."""

    def __init__(self, run: RunContext, expected_usd: Money):
        self.run = run
        self.expected_usd = expected_usd
        self.reservation: str | None = None
        self.report: Spend | None = None

    def __enter__(self) -> LlmCall:
        answer = self.run._client.runs.gate(
            self.run.id, "llm_call", expected_cost_usd=self.expected_usd
        )
        self.reservation = answer.reservation
        return self

    def spent(self, usd: Money, input_tokens: int = 0, output_tokens: int = 0) -> Spend:
        """Report what the call cost; settles the reservation (a retry counts once)."""
        if self.report is not None:
            raise HumanTouchError(f"The call of reservation {self.reservation} was reported.")
        self.report = self.run._client.runs.spend(
            self.run.id,
            cost_usd=usd,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reservation=self.reservation,
        )
        self.run.state = self.report.state
        return self.report

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self.report is not None or not self.reservation:
            return None
        try:
            self.run._client.runs.release(self.run.id, self.reservation)
        except HumanTouchError:
            if exc is None:
                raise
            # The call's own exception is the one to see; the reservation lapses by itself.
            logger.warning("Could not release %s after %r", self.reservation, exc, exc_info=True)
        return None


class AsyncRunContext(_RunBase):
    """What `AsyncClient.run()` returns: `async with`, and every method is awaited."""

    async def __aenter__(self) -> AsyncRunContext:
        self.id = self.id or new_id("run")
        agent = self.agent or (await self._client.whoami()).key_name
        self.agent = agent
        created = await self._client.runs.create(**self._create_kwargs(agent))
        self.state = created.state
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    async def step(self, kind: GateKind = "step") -> GateAnswer:
        answer = await self._client.runs.gate(self.id, kind)
        self.state = answer.state
        return answer

    def llm_call(self, expected_usd: Money) -> AsyncLlmCall:
        return AsyncLlmCall(self, expected_usd)

    async def qc_result(
        self, *, subtask_id: str, passed: bool, attempt: int = 1, failure_codes=()
    ) -> QcResult:
        return await self._client.runs.qc_result(
            self.id,
            subtask_id=subtask_id,
            passed=passed,
            attempt=attempt,
            failure_codes=failure_codes,
        )

    async def change_set(self, **kwargs: Any) -> ChangeSetOutcome:
        kwargs.setdefault("agent", self.agent)
        return await self._client.change_sets.submit(run_id=self.id, **kwargs)

    async def info(self) -> Run:
        run = await self._client.runs.get(self.id)
        self.state = run.state
        return run


class AsyncLlmCall:
    def __init__(self, run: AsyncRunContext, expected_usd: Money):
        self.run = run
        self.expected_usd = expected_usd
        self.reservation: str | None = None
        self.report: Spend | None = None

    async def __aenter__(self) -> AsyncLlmCall:
        answer = await self.run._client.runs.gate(
            self.run.id, "llm_call", expected_cost_usd=self.expected_usd
        )
        self.reservation = answer.reservation
        return self

    async def spent(self, usd: Money, input_tokens: int = 0, output_tokens: int = 0) -> Spend:
        if self.report is not None:
            raise HumanTouchError(f"The call of reservation {self.reservation} was reported.")
        self.report = await self.run._client.runs.spend(
            self.run.id,
            cost_usd=usd,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reservation=self.reservation,
        )
        self.run.state = self.report.state
        return self.report

    async def __aexit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self.report is not None or not self.reservation:
            return None
        try:
            await self.run._client.runs.release(self.run.id, self.reservation)
        except HumanTouchError:
            if exc is None:
                raise
            logger.warning("Could not release %s after %r", self.reservation, exc, exc_info=True)
        return None


__all__ = ["AsyncLlmCall", "AsyncRunContext", "LlmCall", "RunContext"]
