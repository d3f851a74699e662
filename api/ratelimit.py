"""The agent API's rate limit per key: `API_RATE_LIMIT` requests per window ("300/60s").

Fixed windows: a bucket (one key) may make N requests in each window of S seconds, counted
atomically where every web node sees the same count — Redis when REDIS_URL is set (INCR), the
database otherwise (one upsert per request on the bucket's one row). Over the limit the API
answers 429 `rate_limited` with Retry-After: the seconds until the window ends.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection

from api.models import RateWindow
from config.errors import DomainError

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|m|min|h|hour)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


def parse_rate(text: str) -> Rate | None:
    """ "300/60s" → Rate(300, 60); "100/m", "5000/h" likewise; "" or "off" → None (no limit)."""
    if not text.strip() or text.strip().lower() in {"off", "none", "0"}:
        return None
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"API_RATE_LIMIT {text!r} is not like '300/60s'")
    requests, count, unit = match.groups()
    seconds = int(count or 1) * _UNIT_SECONDS[unit]
    if int(requests) < 1 or seconds < 1:
        raise ValueError(f"API_RATE_LIMIT {text!r} must allow at least 1 request per second")
    return Rate(int(requests), seconds)


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, rate: Rate, retry_after: int):
        super().__init__(
            f"This key made more than {rate.requests} requests in {rate.seconds} s; "
            f"try again in {retry_after} s."
        )
        self.retry_after = retry_after


@lru_cache(maxsize=4)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _count_redis(bucket: str, window_start: int, seconds: int) -> int:
    key = f"{settings.RATE_LIMIT_KEY_PREFIX}:{bucket}:{window_start}"
    pipe = _redis(settings.REDIS_URL).pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, seconds + 1)
    count, _ = pipe.execute()
    return int(count)


_TABLE = RateWindow._meta.db_table
# Counts and moves to a newer window in one statement: the row lock taken by ON CONFLICT makes
# concurrent requests of a bucket count one after the other. A request still in an older window
# than the row's counts in the row's (never resets it).
_UPSERT = f"""
INSERT INTO {_TABLE} (bucket, window_start, count) VALUES (%s, %s, 1)
ON CONFLICT (bucket) DO UPDATE SET
    count = CASE WHEN {_TABLE}.window_start >= excluded.window_start
                 THEN {_TABLE}.count + 1 ELSE 1 END,
    window_start = {{newest}}({_TABLE}.window_start, excluded.window_start)
RETURNING count
"""


def _count_database(bucket: str, window_start: int) -> int:
    newest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    # One statement: atomic on its own, no transaction around it (one query per request).
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(newest=newest), [bucket, window_start])
        return cursor.fetchone()[0]


def rate_limit_count(bucket: str, rate: Rate, *, now: float | None = None) -> tuple[int, int]:
    """Count one request of `bucket`: (its number in the current window, seconds left in it)."""
    now = time.time() if now is None else now
    window_start = int(now // rate.seconds) * rate.seconds
    left = max(1, math.ceil(window_start + rate.seconds - now))
    if settings.REDIS_URL:
        try:
            return _count_redis(bucket, window_start, rate.seconds), left
        except Exception:  # Redis away: count in the database rather than let everyone through
            logger.warning("Rate limit: Redis unavailable, counting in the database", exc_info=True)
    return _count_database(bucket, window_start), left


def rate_limit_check(bucket: str) -> None:
    """Count a request of `bucket` against API_RATE_LIMIT; RateLimited when over it."""
    rate = parse_rate(settings.API_RATE_LIMIT)
    if rate is None:
        return
    count, left = rate_limit_count(bucket, rate)
    if count > rate.requests:
        raise RateLimited(rate, left)
