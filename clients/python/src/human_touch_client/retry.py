"""When to send a request again, and after how long. Shared by the sync and async clients.

Sent again (with jittered exponential backoff, the same body and so the same idempotency id):
- a connection that never opened, 409 `try_again`, 429 (after its `Retry-After`) and 503: the
  server did nothing, so every operation may go again;
- a lost answer (the connection dropped after sending, a read timeout) and other 5xx: only an
  operation the server sees once however often it arrives (`Operation.retry_safe`).
Never another 4xx: the same request would get the same answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from human_touch_client.errors import (
    ApiError,
    Conflict,
    RateLimited,
    ServerError,
    Unavailable,
)
from human_touch_client.operations import Operation

# The request never reached the server: no connection, or none free in the pool.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; waits grow from `base_delay` to `max_delay` seconds, jittered. A
    429 whose Retry-After is longer than `max_retry_after` is raised at once (`RateLimited`,
    with `retry_after`) rather than slept through."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """The wait before try `attempt + 1`: half the exponential step, plus up to half again
        at random, so agents that failed together do not come back together."""
        step = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)

    def after_transport_error(
        self, error: httpx.TransportError, operation: Operation, attempt: int
    ) -> float | None:
        if attempt >= self.attempts:
            return None
        if isinstance(error, NOT_SENT) or operation.retry_safe:
            return self.backoff(attempt)
        return None

    def after_error(self, error: ApiError, operation: Operation, attempt: int) -> float | None:
        if attempt >= self.attempts:
            return None
        if isinstance(error, RateLimited | Unavailable):
            told = error.retry_after
            if told is None:
                return self.backoff(attempt)
            if told > self.max_retry_after:
                return None
            return told + random.uniform(0, self.base_delay / 2)
        if isinstance(error, Conflict) and error.try_again:
            return self.backoff(attempt)
        if isinstance(error, ServerError) and operation.retry_safe:
            return self.backoff(attempt)
        return None


def lost_answer_message(operation: Operation, error: Exception, attempts: int) -> str:
    if isinstance(error, NOT_SENT):
        return f"{operation.name}: no connection after {attempts} tries ({error!r})."
    if operation.retry_safe:
        return f"{operation.name}: no answer after {attempts} tries ({error!r})."
    return (
        f"{operation.name}: the answer was lost ({error!r}). The server may have counted this "
        "call, and it counts each time it arrives, so it was not sent again."
    )
