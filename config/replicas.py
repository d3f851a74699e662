"""Heavy reads on a streaming read replica (issue 21.7), never a decision's inputs.

With DATABASE_REPLICA_URL set, settings add the database alias "replica" and this module's
router. Nothing reads from it unless a view or selector asks explicitly, by running inside
`reads_from_replica()` (or decorated with `replica_reads`): the metrics pages and their CSVs, the
weekly reports, the exports and the audit log browsing. Everything else — services, permission
checks, the API — reads the primary, as before.

Three rules keep a replica's lag (it replays the primary's WAL some milliseconds to seconds
behind) from ever reaching a decision or surprising a person:
- Inside a transaction on the primary (every service is `atomic(durable=True)`), reads go to the
  primary even within `reads_from_replica()`: a decision reads the rows it is about to change
  from where it changes them.
- A person who has just written is pinned to the primary for REPLICA_PIN_SECONDS (5) after any
  unsafe request (POST, PUT, PATCH, DELETE): `PrimaryPinMiddleware` sets a short-lived cookie
  holding the time the pin ends, and every request carrying an unexpired one reads the primary.
  So a person who approves a ticket and opens the metrics sees their approval counted. The
  cookie is not signed: forging it only makes one's own reads go to the primary.
- Writes always go to the primary ("default"); migrations never run on the replica.

Raw SQL selectors (config.sql.fetch, read_session) follow the same choice through `read_alias()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from config.middleware import is_api_call

REPLICA = "replica"
PIN_COOKIE = "ht_primary_until"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_replica_asked: ContextVar[bool] = ContextVar("replica_asked", default=False)
_primary_pinned: ContextVar[bool] = ContextVar("primary_pinned", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES and getattr(settings, "REPLICA_READS", True)


def read_alias() -> str:
    """The database a read should go to right now: the replica only when the code asked for it,
    a replica is configured, the person is not pinned to the primary and no transaction is open
    on the primary."""
    if (
        _replica_asked.get()
        and not _primary_pinned.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


@contextmanager
def reads_from_replica() -> Iterator[None]:
    """Mark the reads inside as ones the replica may answer (a page of figures, an export)."""
    token = _replica_asked.set(True)
    try:
        yield
    finally:
        _replica_asked.reset(token)


def replica_reads(view: Callable) -> Callable:
    """`reads_from_replica()` around a view. Put it innermost (under tenant_view and
    login_required), so the permission checks still read the primary."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with reads_from_replica():
            return view(*args, **kwargs)

    return wrapped


@contextmanager
def primary_pinned(pinned: bool = True) -> Iterator[None]:
    """Reads inside go to the primary even where the replica was asked for."""
    token = _primary_pinned.set(pinned)
    try:
        yield
    finally:
        _primary_pinned.reset(token)


def pin_seconds() -> int:
    return int(getattr(settings, "REPLICA_PIN_SECONDS", 5))


def _pin_until(request) -> float:
    try:
        return float(request.COOKIES.get(PIN_COOKIE, "0"))
    except ValueError:
        return 0.0


class PrimaryPinMiddleware:
    """Pins the person to the primary during and for REPLICA_PIN_SECONDS after an unsafe request
    (pages only: the agent API never reads the replica)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_call(request):  # the agent API reads the primary only and keeps no cookies
            return self.get_response(request)
        writes = request.method not in SAFE_METHODS
        with primary_pinned(writes or _pin_until(request) > time.time()):
            response = self.get_response(request)
        if writes and replica_configured():
            seconds = pin_seconds()
            response.set_cookie(
                PIN_COOKIE,
                f"{time.time() + seconds:.3f}",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


class ReplicaRouter:
    """Reads where `read_alias()` says; writes and migrations on the primary only."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


def replica_stream(lines: Iterable) -> Iterator:
    """`lines` of a streamed export, each produced with its reads on the replica: Django runs a
    StreamingHttpResponse's iterator after the view (and its `replica_reads`) has returned."""
    iterator = iter(lines)
    while True:
        with reads_from_replica():
            try:
                line = next(iterator)
            except StopIteration:
                return
        yield line
