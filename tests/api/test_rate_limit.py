"""The agent API's rate limit per key (API_RATE_LIMIT, api/ratelimit.py): past the limit a 429
`rate_limited` with Retry-After, counted atomically in the database or in Redis, so concurrent
requests let exactly the limit through."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis
import time_machine
from django.db import connection
from django.test import Client, override_settings

from api.models import RateWindow
from api.ratelimit import Rate, parse_rate, rate_limit_count
from tests.conftest import REDIS_TEST_URL as REDIS_URL
from tests.conftest import agent_headers, bearer

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs/no-such-run"  # any endpoint: a 404 until the limit, then 429


def redis_settings():
    """Redis as the counter, under keys of this test alone (the server may be shared)."""
    return override_settings(REDIS_URL=REDIS_URL, RATE_LIMIT_KEY_PREFIX=f"ht-test:{uuid.uuid4()}")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("300/60s", Rate(300, 60)),
        ("100/m", Rate(100, 60)),
        ("5000/h", Rate(5000, 3600)),
        ("10/1", Rate(10, 1)),
        (" 7 / 30 s ", Rate(7, 30)),
        ("", None),
        ("off", None),
    ],
)
def test_the_setting_reads_requests_per_window(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["300", "fast", "-1/60s", "0/60s", "10/0s"])
def test_a_setting_that_is_not_a_rate_is_refused(text):
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        parse_rate(text)


@override_settings(API_RATE_LIMIT="3/60s")
def test_past_the_limit_a_key_gets_429_with_retry_after(client, acme):
    headers = agent_headers(acme)
    statuses = [client.get(URL, **headers).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    response = client.get(URL, **headers)
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited"
    assert "more than 3 requests in 60 s" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(API_RATE_LIMIT="2/60s")
def test_each_key_has_its_own_count(client, acme, globex):
    first, second = agent_headers(acme, "one"), agent_headers(globex, "two")
    for _ in range(3):
        client.get(URL, **first)
    assert client.get(URL, **first).status_code == 429
    assert client.get(URL, **second).status_code == 404


@override_settings(API_RATE_LIMIT="2/60s")
def test_the_next_window_lets_the_key_in_again(client, acme):
    headers = agent_headers(acme)
    with time_machine.travel(1_900_000_000.0, tick=False):
        for _ in range(2):
            client.get(URL, **headers)
        assert client.get(URL, **headers).status_code == 429
    with time_machine.travel(1_900_000_061.0, tick=False):
        assert client.get(URL, **headers).status_code == 404
    # One row per key, moved to the new window: the table does not grow with time.
    assert RateWindow.objects.filter(bucket__startswith="key:").count() == 1


@override_settings(API_RATE_LIMIT="3/60s")
def test_wrong_keys_are_limited_by_the_address_they_come_from(client, acme):
    statuses = [client.get(URL, **bearer(f"ht_nope_{n}")).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert client.get(URL, REMOTE_ADDR="192.0.2.1", **bearer("ht_nope_x")).status_code == 401


def test_the_openapi_schema_lists_429_on_every_operation(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "429" in operation["responses"], (method, path)


@pytest.mark.redis
@override_settings(API_RATE_LIMIT="3/60s")
def test_on_redis_the_count_is_kept_there(client, acme):
    with redis_settings():
        headers = agent_headers(acme)
        statuses = [client.get(URL, **headers).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert not RateWindow.objects.exists()


@pytest.mark.redis
def test_with_redis_away_the_database_counts(acme):
    rate = Rate(5, 60)
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        counts = [rate_limit_count("key:away", rate)[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert RateWindow.objects.get(bucket="key:away").count == 3


def concurrent_statuses(headers: dict, count: int) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def call():
        try:
            barrier.wait()
            statuses.append(Client().get(URL, **headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(API_RATE_LIMIT="10/60s")
def test_64_concurrent_requests_let_exactly_the_limit_through_on_postgresql(acme):
    headers = agent_headers(acme)
    # Inside one window (a window edge during the burst would rightly allow more).
    wait = 60 - time.time() % 60
    if wait < 10:
        time.sleep(wait + 0.1)
    statuses = concurrent_statuses(headers, 64)
    assert sorted(statuses) == [404] * 10 + [429] * 54


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(API_RATE_LIMIT="10/60s")
def test_64_concurrent_requests_let_exactly_the_limit_through_on_redis(acme):
    headers = agent_headers(acme)
    wait = 60 - time.time() % 60
    if wait < 10:
        time.sleep(wait + 0.1)
    with redis_settings():
        statuses = concurrent_statuses(headers, 64)
    assert sorted(statuses) == [404] * 10 + [429] * 54
    assert not RateWindow.objects.exists()
    redis.Redis.from_url(REDIS_URL).ping()


def test_an_unreadable_setting_fails_the_system_check(settings):
    from api.checks import api_rate_limit_readable

    settings.API_RATE_LIMIT = "lots"
    assert [e.id for e in api_rate_limit_readable(None)] == ["api.E001"]
    settings.API_RATE_LIMIT = "300/60s"
    assert api_rate_limit_readable(None) == []
