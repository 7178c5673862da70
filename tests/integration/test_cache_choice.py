"""Which factorial cache a server gets: the service's own bound unless the server is the
cache's alone and bounds its memory itself."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from factsvc.embedded import ManagedServer, free_port
from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_cache_choice import choose_factorial_cache
from tests.support.servers import redis_url

pytestmark = pytest.mark.gen_test(timeout=30)


async def chosen(url: str, *, shares_state: bool) -> object:
    redis = Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return await choose_factorial_cache(
            redis, shares_state=shares_state, ttl_seconds=60, max_bytes=1 << 20
        )
    finally:
        await redis.aclose()


async def test_a_cache_that_shares_the_state_server_is_bounded_by_the_service(
    redis_backend: ManagedServer,
) -> None:
    cache = await chosen(redis_url(redis_backend), shares_state=True)
    assert isinstance(cache, BoundedRedisFactorialCache)


async def test_a_cache_server_that_evicts_by_itself_gets_plain_gets_and_sets(
    own_redis_cache: ManagedServer,
) -> None:
    cache = await chosen(redis_url(own_redis_cache), shares_state=False)
    assert type(cache) is RedisFactorialCache


async def test_a_cache_server_without_maxmemory_is_bounded_by_the_service_with_a_warning(
    redis_backend: ManagedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cache = await chosen(redis_url(redis_backend), shares_state=False)
    assert isinstance(cache, BoundedRedisFactorialCache)
    assert "does not evict (maxmemory 0, maxmemory-policy noeviction)" in caplog.text


async def test_an_unreachable_cache_server_is_bounded_by_the_service_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    cache = await chosen(f"redis://127.0.0.1:{free_port()}/0", shares_state=False)
    assert isinstance(cache, BoundedRedisFactorialCache)
    assert "unreachable at start (ConnectionError)" in caplog.text
