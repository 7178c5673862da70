"""The factorial cache's own redis-server going away and coming back: /fact computes, /readyz
stays ready (the cache is optional), and the log and the metrics say that it is down."""

from __future__ import annotations

import asyncio
import logging
import math

import orjson
import pytest
import redis as redis_sync
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.embedded import ManagedServer
from factsvc.storage.redis_cache import PLAIN_KEY_PREFIX
from tests.support.cache_writes import written_back
from tests.support.servers import AppFactory, redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, own_redis_cache: ManagedServer
) -> tornado.web.Application:
    return app_factory(with_settings(settings, redis_cache_url=redis_url(own_redis_cache)))


async def fact(http_client: AsyncHTTPClient, base_url: str, n: int) -> dict[str, object]:
    response = await http_client.fetch(f"{base_url}/fact?n={n}", raise_error=False)
    assert response.code == 200
    body = orjson.loads(response.body)
    assert isinstance(body, dict)
    assert body["fact"] == str(math.factorial(n))
    return body


def unavailable_count(metrics: bytes) -> float:
    for line in metrics.decode().splitlines():
        if line.startswith("factsvc_fact_cache_unavailable_total "):
            return float(line.split()[1])
    raise AssertionError("no factsvc_fact_cache_unavailable_total in /metrics")


async def test_a_cache_outage_leaves_the_service_ready_and_is_logged_and_counted(
    http_client: AsyncHTTPClient,
    base_url: str,
    own_redis_cache: ManagedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.services.factorial")
    own_redis_cache.stop()

    for n in (41, 42, 43):
        assert (await fact(http_client, base_url, n))["cached"] is False
    ready = await http_client.fetch(f"{base_url}/readyz", raise_error=False)
    assert ready.code == 200, "the cache is optional: the service computes without it"
    assert orjson.loads(ready.body)["dependencies"] == {"redis": "ok", "mongodb": "ok"}
    assert "factorial cache unavailable (ConnectionError)" in caplog.text
    metrics = await http_client.fetch(f"{base_url}/metrics")
    assert unavailable_count(metrics.body) >= 3

    own_redis_cache.start()
    own_redis_cache.wait_until_listening()
    await asyncio.sleep(1.1)  # the cache is skipped for a second after a failure
    await fact(http_client, base_url, 44)
    direct = redis_sync.Redis(port=own_redis_cache.port)
    try:
        await written_back(direct, PLAIN_KEY_PREFIX + "44")  # computed values reach it again
    finally:
        direct.close()
    assert "factorial cache available again" in caplog.text
