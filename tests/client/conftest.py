"""The world of the client tests: a live server (transactional, as the client talks to it over
HTTP from another thread), acme's approved winter plan with a live manifest on 1 December 2026 —
search plans €483.87 a day (€15,000 over 31 days), social €387.10 — and an agent key."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine
from human_touch_client import AsyncClient, Client, RetryPolicy

from agents.services import agent_key_create
from optimization.services import manifest_sync
from tenants.models import Role
from tests.client.proxy import FaultyProxy
from tests.conftest import TEST_ACTOR

DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Quick retries: the rules are the client's defaults, the waits a test's.
FAST = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, max_retry_after=5)


@dataclass(frozen=True)
class World:
    base_url: str
    key: str
    tenant: object


def entry(entity_id, channel, daily_budget, status="active"):
    return {
        "platform": "google_ads" if channel == "search" else "meta",
        "entity_id": entity_id,
        "channel": channel,
        "plan_version": 1,
        "state": {"daily_budget": daily_budget, "status": status, "bid_strategy": "target_cpa"},
    }


@pytest.fixture
def clock():
    # tick=True: time runs on from the 1st (the live server's thread and httpx's timeouts too).
    with time_machine.travel(DAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(clock, live_server, acme, acme_v1):
    """Search runs €300 + €180 a day, social €380; the key is acme's `optimizer`."""
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[
            entry("search-brand", "search", "300.00"),
            entry("search-generic", "search", "180.00"),
            entry("social-prospecting", "social", "380.00"),
        ],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    _key, plain = agent_key_create(tenant=acme, name="optimizer", actor=TEST_ACTOR)
    return World(base_url=live_server.url, key=plain, tenant=acme)


@pytest.fixture
def people(acme, make_member):
    return {
        Role.OPERATOR: make_member("otto", acme, Role.OPERATOR),
        Role.CLIENT: make_member("carla", acme, Role.CLIENT),
        Role.PLANNER: make_member("pia", acme, Role.PLANNER),
    }


@pytest.fixture
def proxy(world):
    proxy = FaultyProxy(world.base_url)
    yield proxy
    proxy.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request, world):
    """A client of either kind, to world's server or another URL (the proxy)."""
    made = []

    def make(base_url: str | None = None, **kwargs):
        kind = Client if request.param == "sync" else AsyncClient
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("api_key", world.key)
        client = kind(base_url=base_url or world.base_url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, Client):
            client.close()


async def call(value):
    """The answer of a client method, awaited if the client is an AsyncClient: one scenario
    drives both kinds."""
    return await value if inspect.isawaitable(value) else value


def in_a_loop_of_its_own(coroutine_function, *args):
    """`await coroutine_function(*args)` in a new event loop on a thread of its own: the test's
    thread may hold a running loop already (Playwright's, once a browser test ran), where
    asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine_function(*args)).result()


def drive(client, scenario):
    """Run `scenario(client)` (a coroutine function using `call`) to its end; an AsyncClient is
    closed afterwards, in the same loop."""

    async def to_the_end():
        if isinstance(client, AsyncClient):
            async with client:
                return await scenario(client)
        return await scenario(client)

    return in_a_loop_of_its_own(to_the_end)
