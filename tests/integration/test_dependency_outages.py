"""Redis and the MongoDB-compatible server going away and coming back, over real sockets."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_sync
import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.config import Settings
from factsvc.embedded import ManagedServer, mongo_server, mongodb_uri
from factsvc.storage.redis_cache import KEY_PREFIX
from tests.support.api import PASSWORD, Api
from tests.support.cache_writes import written_back
from tests.support.polling import eventually_awaited
from tests.support.servers import AppFactory, redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[ManagedServer]:
    server = mongo_server(tmp_path / "mongo-data", tmp_path)
    server.start()
    server.wait_until_listening()
    yield server
    server.stop()


@pytest.fixture
def redis_timeout(settings: Settings) -> float:
    """REDIS_TIMEOUT_SECONDS for the test; a test parametrized with it sets its own."""
    return settings.redis_timeout_seconds


@pytest.fixture
def outage_settings(
    settings: Settings,
    own_redis: ManagedServer,
    own_mongo: ManagedServer,
    redis_timeout: float,
) -> Settings:
    """Settings on this test's own servers, which the test may stop, pause and restart."""
    return with_settings(
        settings,
        redis_url=redis_url(own_redis),
        mongodb_uri=mongodb_uri(own_mongo.port),
        redis_timeout_seconds=redis_timeout,
    )


@pytest.fixture
def app(app_factory: AppFactory, outage_settings: Settings) -> tornado.web.Application:
    return app_factory(outage_settings)


async def timed_get(client: AsyncHTTPClient, url: str) -> tuple[HTTPResponse, float]:
    started = time.monotonic()
    response = await client.fetch(url, raise_error=False)
    return response, time.monotonic() - started


def body_of(response: HTTPResponse) -> dict[str, Any]:
    body = orjson.loads(response.body)
    assert isinstance(body, dict)
    return body


async def test_fact_answers_correctly_while_redis_is_stopped_and_uses_it_again_after(
    http_client: AsyncHTTPClient, base_url: str, own_redis: ManagedServer
) -> None:
    own_redis.stop()
    response, elapsed = await timed_get(http_client, f"{base_url}/fact?n=40")
    assert response.code == 200
    assert body_of(response)["fact"] == str(math.factorial(40))
    assert elapsed < 1.5

    ready, elapsed = await timed_get(http_client, f"{base_url}/readyz")
    assert ready.code == 503
    assert ready.headers["Retry-After"] == "1"
    assert body_of(ready)["code"] == 10
    assert body_of(ready)["dependencies"] == {"redis": "unavailable", "mongodb": "ok"}
    assert elapsed < 1.5

    own_redis.start()
    own_redis.wait_until_listening()
    await asyncio.sleep(1.1)  # the cache is skipped for a second after a failure
    response, _ = await timed_get(http_client, f"{base_url}/fact?n=41")
    assert body_of(response)["cached"] is False
    direct = redis_sync.Redis(port=own_redis.port)
    try:
        await written_back(direct, KEY_PREFIX + "41")  # computed values reach Redis again
    finally:
        direct.close()
    ready, _ = await timed_get(http_client, f"{base_url}/readyz")
    assert ready.code == 200


# Long enough that a third try shows plainly beside two on a loaded machine.
@pytest.mark.parametrize("redis_timeout", [1.0])
async def test_fact_gives_up_on_a_paused_redis_before_a_third_try(
    http_client: AsyncHTTPClient,
    base_url: str,
    own_redis: ManagedServer,
    outage_settings: Settings,
) -> None:
    # A paused Redis accepts and never answers: a request gives up after a try and its one
    # retry (storage/redis_client.py), ~2 s, where waiting for an answer would wait for good.
    # No other test counts the tries: a third one would take 3 timeouts (3 s) at least. Only the
    # first request reaches Redis; the cache skips it for a while after that failure.
    gives_up = 3 * outage_settings.redis_timeout_seconds
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        for n in (50, 51, 52):
            response, elapsed = await timed_get(http_client, f"{base_url}/fact?n={n}")
            assert response.code == 200
            assert body_of(response)["fact"] == str(math.factorial(n))
            assert elapsed < gives_up
        ready, elapsed = await timed_get(http_client, f"{base_url}/readyz")
        assert ready.code == 503
        assert elapsed < gives_up
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)


async def test_readyz_reports_mongodb_down_fast_and_recovers(
    http_client: AsyncHTTPClient, base_url: str, own_mongo: ManagedServer
) -> None:
    assert (await timed_get(http_client, f"{base_url}/readyz"))[0].code == 200
    own_mongo.stop()
    ready, elapsed = await timed_get(http_client, f"{base_url}/readyz")
    assert elapsed < 1.5
    assert ready.code == 503
    assert body_of(ready)["dependencies"] == {"redis": "ok", "mongodb": "unavailable"}
    response, _ = await timed_get(http_client, f"{base_url}/fact?n=9")
    assert response.code == 200, "/fact does not depend on MongoDB"
    own_mongo.start()
    own_mongo.wait_until_listening()
    await eventually_awaited(
        lambda: timed_get(http_client, f"{base_url}/readyz"),
        10,
        "readiness recovers by itself",
        pause=0.2,
        accept=lambda answer: answer[0].code == 200,
    )


@pytest.mark.parametrize(
    ("save_points", "old_token_status"),
    [
        # A Redis with save points writes its data on the way down and reads it back at start.
        pytest.param("60 1", 200, id="a-persisting-redis-keeps-the-session"),
        # A Redis without them (or whose data dir is lost) comes back empty.
        pytest.param("", 401, id="a-redis-restarted-empty-forgets-the-session"),
    ],
)
async def test_session_endpoints_answer_503_fast_while_redis_is_down_and_recover(
    http_client: AsyncHTTPClient,
    base_url: str,
    own_redis: ManagedServer,
    save_points: str,
    old_token_status: int,
) -> None:
    api = Api(http_client, base_url)
    await api.register()
    token = (await api.login()).body["token"]
    # Set here, so that each case says whether this Redis persists rather than relying on how
    # the embedded server is configured.
    direct = redis_sync.Redis(port=own_redis.port)
    try:
        direct.config_set("save", save_points)
    finally:
        direct.close()
    own_redis.stop()
    assert own_redis.pid_file is not None
    assert (own_redis.pid_file.parent / "dump.rdb").exists() == bool(save_points)
    bodies: dict[str, object] = {
        "/login": {"username": "alice", "password": PASSWORD},
        "/account/sessions/revoke": {"all": True},
    }
    for method, path in (
        ("GET", "/isLogined"),
        ("GET", "/account/info"),
        ("GET", "/account/sessions"),
        ("POST", "/account/sessions/revoke"),
        ("POST", "/logout"),
        ("POST", "/login"),
    ):
        started = time.monotonic()
        body = bodies.get(path)
        reply = await api.request(method, path, body, token=token)
        assert time.monotonic() - started < 1.5
        assert (reply.status, reply.code) == (503, 10), path
        assert reply.headers["Retry-After"] == "1"
        assert "127.0.0.1" not in reply.response.body.decode()
    own_redis.start()
    own_redis.wait_until_listening()
    # The old session answers as Redis kept it: accepted if persisted, else gone (never a 5xx);
    # a new login works at once either way.
    assert (await api.get("/account/info", token=token)).status == old_token_status
    assert (await api.login()).status == 200


async def assert_account_endpoints_recover(api: Api, token: str) -> None:
    """/account/info answers alice's account again within 10 s, with no restart of the service;
    AssertionError if not."""
    reply = await eventually_awaited(
        lambda: api.get("/account/info", token=token),
        10,
        "account endpoints recover by themselves",
        pause=0.2,
        accept=lambda reply: reply.status == 200,
    )
    assert reply.body["user"]["username"] == "alice"


async def test_account_endpoints_answer_503_fast_while_mongodb_is_down_and_recover(
    http_client: AsyncHTTPClient, base_url: str, own_mongo: ManagedServer
) -> None:
    api = Api(http_client, base_url)
    await api.register()
    token = (await api.login()).body["token"]
    own_mongo.stop()
    for method, path, body in (
        ("POST", "/register", {"username": "bob", "password": PASSWORD}),
        ("POST", "/login", {"username": "alice", "password": PASSWORD}),
        ("GET", "/account/info", None),
        ("POST", "/account/edit", {"nickname": "x"}),
    ):
        started = time.monotonic()
        reply = await api.request(method, path, body, token=token)
        assert time.monotonic() - started < 2.5, path
        assert (reply.status, reply.code) == (503, 10), path
    logined = await api.get("/isLogined", token=token)
    assert (logined.status, logined.body["logined"]) == (200, True)
    assert (await api.get("/fact?n=12")).status == 200
    own_mongo.start()
    own_mongo.wait_until_listening()
    await assert_account_endpoints_recover(api, token)


async def test_account_endpoints_answer_503_fast_while_mongodb_is_paused_and_recover(
    http_client: AsyncHTTPClient,
    base_url: str,
    own_mongo: ManagedServer,
    outage_settings: Settings,
) -> None:
    api = Api(http_client, base_url)
    await api.register()
    token = (await api.login()).body["token"]
    assert own_mongo.process is not None
    os.kill(own_mongo.process.pid, signal.SIGSTOP)
    try:
        for method, path, body in (
            ("GET", "/account/info", None),
            ("POST", "/login", {"username": "alice", "password": PASSWORD}),
        ):
            started = time.monotonic()
            reply = await api.request(method, path, body, token=token)
            assert time.monotonic() - started < 2.5, path
            assert (reply.status, reply.code) == (503, 10), path
        response, elapsed = await timed_get(http_client, f"{base_url}/fact?n=13")
        assert response.code == 200
        # /fact needs nothing of MongoDB (~2 ms); one that waited for it would take its timeout.
        assert elapsed < 0.9 * outage_settings.mongodb_timeout_ms / 1000
    finally:
        os.kill(own_mongo.process.pid, signal.SIGCONT)
    await assert_account_endpoints_recover(api, token)
