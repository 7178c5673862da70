"""Which factorial cache a server gets: the service's own bound unless the server is the
cache's alone (another run_id than the state server's) and bounds its memory itself."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from factsvc.embedded import ManagedServer, free_port
from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import KEY_PREFIX, RedisFactorialCache
from factsvc.storage.redis_cache_choice import choose_factorial_cache
from tests.conftest import CACHE_SERVER_MAX_BYTES
from tests.support.servers import redis_url

pytestmark = pytest.mark.gen_test(timeout=30)


async def chosen(url: str, *, state_url: str | None) -> object:
    """The adapter chosen for a cache at `url` beside state at `state_url` (None: the very
    same client, as when REDIS_CACHE_URL is empty)."""
    redis = Redis.from_url(url, socket_connect_timeout=0.5)
    state = redis if state_url is None else Redis.from_url(state_url, socket_connect_timeout=0.5)
    try:
        return await choose_factorial_cache(redis, state=state, ttl_seconds=60, max_bytes=1 << 20)
    finally:
        await redis.aclose()
        await state.aclose()


async def test_a_cache_that_shares_the_state_server_is_bounded_by_the_service(
    redis_backend: ManagedServer,
) -> None:
    cache = await chosen(redis_url(redis_backend), state_url=None)
    assert isinstance(cache, BoundedRedisFactorialCache)


async def test_a_cache_server_that_evicts_by_itself_gets_plain_gets_and_sets(
    own_redis_cache: ManagedServer, redis_backend: ManagedServer
) -> None:
    cache = await chosen(redis_url(own_redis_cache), state_url=redis_url(redis_backend))
    assert type(cache) is RedisFactorialCache


async def test_a_cache_server_without_maxmemory_is_bounded_by_the_service_with_a_warning(
    redis_backend: ManagedServer, own_redis: ManagedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cache = await chosen(redis_url(redis_backend), state_url=redis_url(own_redis))
    assert isinstance(cache, BoundedRedisFactorialCache)
    assert "does not evict (maxmemory 0, maxmemory-policy noeviction)" in caplog.text


async def test_an_unreachable_cache_server_is_bounded_by_the_service_with_a_warning(
    redis_backend: ManagedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cache = await chosen(f"redis://127.0.0.1:{free_port()}/0", state_url=redis_url(redis_backend))
    assert isinstance(cache, BoundedRedisFactorialCache)
    assert "unreachable at start (ConnectionError)" in caplog.text


async def test_an_unreachable_state_server_is_taken_as_shared_with_a_warning(
    own_redis_cache: ManagedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    cache = await chosen(redis_url(own_redis_cache), state_url=unreachable)
    assert isinstance(cache, BoundedRedisFactorialCache)
    assert "REDIS_URL unreachable at start (ConnectionError)" in caplog.text


async def test_the_state_server_named_by_another_host_and_database_is_bounded_by_the_service(
    own_redis_cache: ManagedServer,
) -> None:
    # One server that evicts by itself (maxmemory, allkeys-lru), named two ways: were the
    # cache's keys left to its eviction, state in database 0 could go with them.
    state = Redis.from_url(f"redis://127.0.0.1:{own_redis_cache.port}/0")
    redis = Redis.from_url(f"redis://localhost:{own_redis_cache.port}/1")
    bound = CACHE_SERVER_MAX_BYTES // 3
    try:
        await state.set("session:kept", "alice")
        cache = await choose_factorial_cache(redis, state=state, ttl_seconds=60, max_bytes=bound)
        assert isinstance(cache, BoundedRedisFactorialCache)
        value = "7" * (100 << 10)
        crawl = range(2 * CACHE_SERVER_MAX_BYTES // len(value))
        for n in crawl:
            await cache.set(100_000 + n, value)
            assert await cache.used_bytes() <= bound, f"over the bound after {n}"
        assert len(await redis.keys(KEY_PREFIX + "*")) < len(crawl) / 2
        assert await state.get("session:kept") == b"alice"
    finally:
        await redis.aclose()
        await state.aclose()
