"""`Client` and `AsyncClient`: every operation of operations.py as a method, sent with one set of
rules (retry.py), answers read into results.py's dataclasses and errors raised as errors.py's.

Before its first request a client asks `/api/v1/whoami` which API version the server speaks
and raises `IncompatibleServer` when it is not this client's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio
import httpx

from human_touch_client import operations as ops
from human_touch_client.errors import (
    ApiError,
    Blocked,
    HumanTouchError,
    IncompatibleServer,
    TransportError,
    WaitTimeout,
    error_from_answer,
)
from human_touch_client.operations import Money, Operation
from human_touch_client.results import (
    AsyncTicket,
    ProtocolError,
    Ticket,
    WhoAmI,
    parse,
)
from human_touch_client.retry import RetryPolicy, lost_answer_message
from human_touch_client.runs import AsyncRunContext, RunContext

API_VERSION = "1"
__version__ = "0.1.0"

P = ParamSpec("P")
T = TypeVar("T")


class _Core:
    """What both clients share: configuration, reading answers, the version check."""

    _ticket_class: type[Ticket] = Ticket

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy | None,
        check_api_version: bool,
    ):
        if not api_key:
            raise HumanTouchError("api_key is required (manage.py agent_key_create prints one).")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._check_api_version = check_api_version
        self._whoami: WhoAmI | None = None
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": f"human-touch-client/{__version__}",
        }

    def _needs_version_check(self, operation: Operation) -> bool:
        return self._check_api_version and self._whoami is None and operation.result is not WhoAmI

    def _read(self, operation: Operation[T], response: httpx.Response) -> T:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success:
            headers = {name.lower(): value for name, value in response.headers.items()}
            raise error_from_answer(response.status_code, body, headers, response.text)
        if body is None:
            raise ProtocolError(f"{operation.name} answered {response.status_code} without JSON.")
        result_class = operation.result
        if result_class is Ticket:
            result_class = self._ticket_class  # type: ignore[assignment]
        result = parse(result_class, body)
        if isinstance(result, Ticket):
            object.__setattr__(result, "_client", self)
        if isinstance(result, WhoAmI):
            self._accept(result)
        return result  # type: ignore[return-value]

    def _accept(self, whoami: WhoAmI) -> None:
        if self._check_api_version and whoami.api_version != API_VERSION:
            speaks = (
                f"API version {whoami.api_version}"
                if whoami.api_version
                else "an API version older than this client (its whoami names none)"
            )
            raise IncompatibleServer(
                f"This client (human-touch-client {__version__}) speaks the Human Touch agent API "
                f"version {API_VERSION}; the server at {self.base_url} speaks {speaks}. Install "
                "the client that ships with the server (pip install ./clients/python from its "
                "repository)."
            )
        self._whoami = whoami

    @staticmethod
    def _request(operation: Operation) -> dict[str, Any]:
        return {
            "method": operation.method,
            "url": operation.url,
            "json": operation.json,
            "params": operation.query,
        }

    @staticmethod
    def _timed_out(ticket: Ticket, timeout: float | None) -> WaitTimeout:
        waiting = ", ".join(ticket.pending_roles) or "a decision"
        return WaitTimeout(
            f"Nobody decided {ticket.ticket} within {timeout:g} s: it is {ticket.status}, "
            f"waiting for {waiting}.",
            ticket=ticket,
        )


# --- the synchronous client ----------------------------------------------------------------------
def _sync(build: Callable[P, Operation[T]]) -> Callable[Concatenate[Any, P], T]:
    @functools.wraps(build)
    def method(self: Any, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._client._execute(build(*args, **kwargs))

    return method


class _Namespace:
    def __init__(self, client: Any):
        self._client = client


class Runs(_Namespace):
    create = _sync(ops.runs_create)
    get = _sync(ops.runs_get)
    gate = _sync(ops.runs_gate)
    spend = _sync(ops.runs_spend)
    release = _sync(ops.runs_release)
    qc_result = _sync(ops.runs_qc_result)


class Tickets(_Namespace):
    open = _sync(ops.tickets_open)
    get = _sync(ops.tickets_get)

    def wait(self, public_id: str, *, timeout: float | None = 600.0, poll: float = 2.0) -> Ticket:
        """Read the ticket until a person decides it, polling from `poll` seconds up to 30 (×1.5
        each time); `WaitTimeout` after `timeout` seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            ticket = self.get(public_id)
            if ticket.decided:
                return ticket
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise self._client._timed_out(ticket, timeout)
            time.sleep(delay if left is None else min(delay, left))
            delay = min(30.0, delay * 1.5)


class Plans(_Namespace):
    current = _sync(ops.plans_current)
    draft = _sync(ops.plans_draft)
    submit = _sync(ops.plans_submit)


class Tracks(_Namespace):
    sync_manifest = _sync(ops.tracks_sync_manifest)
    report_performance = _sync(ops.tracks_report_performance)
    propose_creative_theme = _sync(ops.tracks_propose_creative_theme)
    report_observations = _sync(ops.tracks_report_observations)
    reconciliations = _sync(ops.tracks_reconciliations)
    alignment = _sync(ops.tracks_alignment)


class ChangeSets(_Namespace):
    submit = _sync(ops.change_sets_submit)
    get = _sync(ops.change_sets_get)


class Recommendations(_Namespace):
    open = _sync(ops.recommendations_open)


class PlatformAccounts(_Namespace):
    request = _sync(ops.platform_accounts_request)
    verified = _sync(ops.platform_accounts_verified)


class Audit(_Namespace):
    events = _sync(ops.audit_events)


class Client(_Core):
    """The agent API over HTTP, for one tenant's key.

    `client.runs`, `.tickets`, `.plans`, `.tracks`, `.change_sets`, `.recommendations` and
    `.audit` hold one method per endpoint; `client.run(...)` and `client.request_approval(...)`
    are the ways in for an agent. Use it as a context manager, or `close()` it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        check_api_version: bool = True,
        transport: httpx.BaseTransport | None = None,
    ):
        super().__init__(base_url, api_key, retry=retry, check_api_version=check_api_version)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self.runs = Runs(self)
        self.tickets = Tickets(self)
        self.plans = Plans(self)
        self.tracks = Tracks(self)
        self.change_sets = ChangeSets(self)
        self.recommendations = Recommendations(self)
        self.platform_accounts = PlatformAccounts(self)
        self.audit = Audit(self)

    whoami = _sync(ops.whoami)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def _client(self) -> Client:  # `whoami` is sent like a namespace's method
        return self

    def run(
        self,
        *,
        task: str,
        estimate_usd: Money,
        agent: str | None = None,
        model: str = "unspecified",
        run_id: str | None = None,
    ) -> RunContext:
        """A run of `task` with the cost it should have (the Cost Guard trips at a multiple of
        it): `with client.run(task=…, estimate_usd="0.50") as run: run.step("tool_round")`.
        `agent` defaults to the key's name; `run_id` is made up unless given."""
        return RunContext(
            self, task=task, estimate_usd=estimate_usd, agent=agent, model=model, run_id=run_id
        )

    def request_approval(self, **kwargs: Any) -> Ticket:
        """Open an A4 (access) or A7 (compliance) ticket for people to decide; `ticket.wait()`
        returns once they have. Takes the arguments of `client.tickets.open`."""
        return self.tickets.open(**kwargs)

    def _execute(self, operation: Operation[T]) -> T:
        if self._needs_version_check(operation):
            self.whoami()
        try:
            return self._send(operation)
        except Blocked as blocked:
            if blocked.ticket is None and operation.acts_for_run:
                blocked.ticket = self._blocking_ticket(operation.acts_for_run)
            raise

    def _blocking_ticket(self, run_id: str) -> str | None:
        try:
            return self._send(ops.runs_get(run_id)).blocking_ticket
        except HumanTouchError:
            return None

    def _send(self, operation: Operation[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(**self._request(operation))
            except httpx.TransportError as error:
                delay = self.retry.after_transport_error(error, operation, attempt)
                if delay is None:
                    raise TransportError(lost_answer_message(operation, error, attempt)) from error
                time.sleep(delay)
                continue
            try:
                return self._read(operation, response)
            except ApiError as error:
                delay = self.retry.after_error(error, operation, attempt)
                if delay is None:
                    raise
                time.sleep(delay)


# --- the asynchronous client ---------------------------------------------------------------------
def _async(
    build: Callable[P, Operation[T]],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    @functools.wraps(build)
    async def method(self: Any, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._client._execute(build(*args, **kwargs))

    return method


class AsyncRuns(_Namespace):
    create = _async(ops.runs_create)
    get = _async(ops.runs_get)
    gate = _async(ops.runs_gate)
    spend = _async(ops.runs_spend)
    release = _async(ops.runs_release)
    qc_result = _async(ops.runs_qc_result)


class AsyncTickets(_Namespace):
    @functools.wraps(ops.tickets_open)
    async def open(self, *args: Any, **kwargs: Any) -> AsyncTicket:
        return await self._client._execute(ops.tickets_open(*args, **kwargs))

    @functools.wraps(ops.tickets_get)
    async def get(self, public_id: str) -> AsyncTicket:
        return await self._client._execute(ops.tickets_get(public_id))

    async def wait(
        self, public_id: str, *, timeout: float | None = 600.0, poll: float = 2.0
    ) -> AsyncTicket:
        """Like `Tickets.wait`, awaited."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            ticket = await self.get(public_id)
            if ticket.decided:
                return ticket
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise self._client._timed_out(ticket, timeout)
            await anyio.sleep(delay if left is None else min(delay, left))
            delay = min(30.0, delay * 1.5)


class AsyncPlans(_Namespace):
    current = _async(ops.plans_current)
    draft = _async(ops.plans_draft)
    submit = _async(ops.plans_submit)


class AsyncTracks(_Namespace):
    sync_manifest = _async(ops.tracks_sync_manifest)
    report_performance = _async(ops.tracks_report_performance)
    propose_creative_theme = _async(ops.tracks_propose_creative_theme)
    report_observations = _async(ops.tracks_report_observations)
    reconciliations = _async(ops.tracks_reconciliations)
    alignment = _async(ops.tracks_alignment)


class AsyncChangeSets(_Namespace):
    submit = _async(ops.change_sets_submit)
    get = _async(ops.change_sets_get)


class AsyncRecommendations(_Namespace):
    open = _async(ops.recommendations_open)


class AsyncPlatformAccounts(_Namespace):
    request = _async(ops.platform_accounts_request)
    verified = _async(ops.platform_accounts_verified)


class AsyncAudit(_Namespace):
    events = _async(ops.audit_events)


class AsyncClient(_Core):
    """`Client` for asyncio (or trio): the same methods, awaited; `async with client.run(...)`."""

    _ticket_class = AsyncTicket

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        check_api_version: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        super().__init__(base_url, api_key, retry=retry, check_api_version=check_api_version)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self.runs = AsyncRuns(self)
        self.tickets = AsyncTickets(self)
        self.plans = AsyncPlans(self)
        self.tracks = AsyncTracks(self)
        self.change_sets = AsyncChangeSets(self)
        self.recommendations = AsyncRecommendations(self)
        self.platform_accounts = AsyncPlatformAccounts(self)
        self.audit = AsyncAudit(self)

    whoami = _async(ops.whoami)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def _client(self) -> AsyncClient:
        return self

    def run(
        self,
        *,
        task: str,
        estimate_usd: Money,
        agent: str | None = None,
        model: str = "unspecified",
        run_id: str | None = None,
    ) -> AsyncRunContext:
        """`async with client.run(task=…, estimate_usd=…) as run: await run.step(…)`."""
        return AsyncRunContext(
            self, task=task, estimate_usd=estimate_usd, agent=agent, model=model, run_id=run_id
        )

    async def request_approval(self, **kwargs: Any) -> AsyncTicket:
        """Open an A4 or A7 ticket; `await ticket.wait()` returns once people decided."""
        return await self.tickets.open(**kwargs)

    async def _execute(self, operation: Operation[T]) -> T:
        if self._needs_version_check(operation):
            await self.whoami()
        try:
            return await self._send(operation)
        except Blocked as blocked:
            if blocked.ticket is None and operation.acts_for_run:
                blocked.ticket = await self._blocking_ticket(operation.acts_for_run)
            raise

    async def _blocking_ticket(self, run_id: str) -> str | None:
        try:
            return (await self._send(ops.runs_get(run_id))).blocking_ticket
        except HumanTouchError:
            return None

    async def _send(self, operation: Operation[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(**self._request(operation))
            except httpx.TransportError as error:
                delay = self.retry.after_transport_error(error, operation, attempt)
                if delay is None:
                    raise TransportError(lost_answer_message(operation, error, attempt)) from error
                await anyio.sleep(delay)
                continue
            try:
                return self._read(operation, response)
            except ApiError as error:
                delay = self.retry.after_error(error, operation, attempt)
                if delay is None:
                    raise
                await anyio.sleep(delay)
