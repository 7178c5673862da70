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
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.app import open_services
from factsvc.config import Settings
from factsvc.embedded import ManagedServer, mongo_server
from factsvc.errors import DependencyUnavailable
from factsvc.storage.redis_cache import KEY_PREFIX
from tests.conftest import AppFactory, redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[ManagedServer]:
    server = mongo_server(tmp_path / "mongo-data", tmp_path)
    server.start()
    server.wait_until_listening()
    yield server
    server.stop()


@pytest.fixture
def outage_settings(settings: Settings, own_redis: ManagedServer) -> Settings:
    return with_settings(settings, redis_url=redis_url(own_redis))


@pytest.fixture
def app(app_factory: AppFactory, outage_settings: Settings) -> object:
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
    await asyncio.sleep(0.2)
    direct = redis_sync.Redis(port=own_redis.port)
    try:
        assert direct.exists(KEY_PREFIX + "41") == 1, "computed values reach Redis again"
    finally:
        direct.close()
    ready, _ = await timed_get(http_client, f"{base_url}/readyz")
    assert ready.code == 200


async def test_fact_answers_within_a_second_or_so_while_redis_is_paused(
    http_client: AsyncHTTPClient, base_url: str, own_redis: ManagedServer
) -> None:
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        for n in (50, 51, 52):
            response, elapsed = await timed_get(http_client, f"{base_url}/fact?n={n}")
            assert response.code == 200
            assert body_of(response)["fact"] == str(math.factorial(n))
            assert elapsed < 1.5
        ready, elapsed = await timed_get(http_client, f"{base_url}/readyz")
        assert ready.code == 503
        assert elapsed < 1.5
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)


async def test_readyz_reports_mongodb_down_fast_and_recovers(
    http_client: AsyncHTTPClient,
    base_url: str,
    outage_settings: Settings,
    own_mongo: ManagedServer,
) -> None:
    # A second app on this test's own MongoDB-compatible server, which the test then stops.
    settings = with_settings(outage_settings, mongodb_uri=f"mongodb://127.0.0.1:{own_mongo.port}/")
    async with open_services(settings) as services:
        assert await services.readiness.check() == {"redis": "ok", "mongodb": "ok"}
        own_mongo.stop()
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable) as caught:
            await services.readiness.check()
        assert time.monotonic() - started < 1.5
        assert caught.value.states == {"redis": "ok", "mongodb": "unavailable"}
        # /fact does not depend on MongoDB at all.
        response, _ = await timed_get(http_client, f"{base_url}/fact?n=9")
        assert response.code == 200
        own_mongo.start()
        own_mongo.wait_until_listening()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert await services.readiness.check() == {"redis": "ok", "mongodb": "ok"}
                break
            except DependencyUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
