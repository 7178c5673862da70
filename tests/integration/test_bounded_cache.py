"""BoundedRedisFactorialCache on a real redis-server: the cache's bytes stay within the bound,
the least recently used values go first, and keys that are not the cache's are never touched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import cast

import pytest
import redis as redis_sync
import tornado.ioloop
from redis.asyncio import Redis

from factsvc.config import Settings
from factsvc.storage.redis_bounded_cache import (
    BYTES_KEY,
    INDEX_KEY,
    SIZES_KEY,
    BoundedRedisFactorialCache,
)
from factsvc.storage.redis_cache import HASH_TAG, KEY_PREFIX

pytestmark = pytest.mark.gen_test(timeout=30)

BOUND = 1 << 20
VALUE = "7" * 100_000  # about a tenth of the bound: nine or ten fit, whatever the allocator


@pytest.fixture
def redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[Redis]:
    """A client on the shared test Redis, which the settings fixture empties for each test."""

    async def build() -> Redis:
        return Redis.from_url(settings.redis_url)

    client = io_loop.run_sync(build)
    yield client
    io_loop.run_sync(client.aclose)


def bounded(redis: Redis, max_bytes: int = BOUND) -> BoundedRedisFactorialCache:
    return BoundedRedisFactorialCache(redis, ttl_seconds=600, max_bytes=max_bytes)


def keys(direct: redis_sync.Redis, pattern: str = "*") -> list[bytes]:
    return cast(list[bytes], direct.keys(pattern))  # the client does not decode responses


def indexed_ns(direct: redis_sync.Redis) -> set[int]:
    """The n the index names."""
    return {int(member) for member in cast(list[bytes], direct.zrange(INDEX_KEY, 0, -1))}


def cached_ns(direct: redis_sync.Redis) -> set[int]:
    """The n whose value keys exist."""
    return {int(key[len(KEY_PREFIX) :]) for key in keys(direct, KEY_PREFIX + "*")}


def assert_the_index_matches_the_values(direct: redis_sync.Redis, max_bytes: int = BOUND) -> int:
    """The index names exactly the stored values, its counter is the sum of their sizes, and
    that sum is within the bound; returns the sum."""
    indexed = indexed_ns(direct)
    assert indexed == cached_ns(direct)
    sizes = {int(n): int(size) for n, size in direct.hgetall(SIZES_KEY).items()}
    assert set(sizes) == indexed
    total = int(direct.get(BYTES_KEY) or 0)
    assert total == sum(sizes.values())
    assert total <= max_bytes
    return total


async def write(cache: BoundedRedisFactorialCache, ns: Iterable[int]) -> None:
    for n in ns:
        await cache.set(n, VALUE)


async def test_writes_past_the_bound_evict_the_least_recently_used_values_first(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    cache = bounded(redis)
    await write(cache, range(1, 9))
    assert cached_ns(redis_direct) == set(range(1, 9)), "eight values fit in the bound"
    assert await cache.get(1) == VALUE  # 1 is now the most recently used

    await write(cache, range(9, 13))

    kept = cached_ns(redis_direct)
    assert 1 in kept, "a value read lately is kept"
    assert 2 not in kept, "the least recently used value went first"
    use_order = [*range(2, 9), 1, *range(9, 13)]
    assert [n for n in use_order if n in kept] == use_order[-len(kept) :]
    assert 9 <= len(kept) <= 10
    assert await cache.used_bytes() == assert_the_index_matches_the_values(redis_direct)


async def test_keys_that_are_not_the_caches_survive_a_crawl_far_past_the_bound(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    redis_direct.set("factsvc:session:abc", "state without a TTL")
    redis_direct.set("factsvc:limit:login-client:10.0.0.1", 3, ex=900)
    redis_direct.hset("factsvc:user-sessions:u1", "abc", 1)
    state = {key: redis_direct.dump(key) for key in keys(redis_direct)}

    await write(bounded(redis), range(100, 150))  # five times the bound

    assert {key: redis_direct.dump(key) for key in state} == state
    assert redis_direct.ttl("factsvc:session:abc") == -1
    assert 0 < redis_direct.ttl("factsvc:limit:login-client:10.0.0.1") <= 900
    others = set(keys(redis_direct)) - set(state)
    assert all(key.startswith(HASH_TAG.encode()) for key in others), others
    assert_the_index_matches_the_values(redis_direct)


async def test_a_value_larger_than_the_bound_is_not_kept_and_evicts_nothing(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    cache = bounded(redis)
    await write(cache, range(1, 4))
    await cache.set(99, "1" * (BOUND + 1))
    assert await cache.get(99) is None
    assert cached_ns(redis_direct) == {1, 2, 3}
    assert_the_index_matches_the_values(redis_direct)


async def test_a_value_written_again_is_counted_once(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    cache = bounded(redis)
    await cache.set(5, VALUE)
    once = assert_the_index_matches_the_values(redis_direct)
    await cache.set(5, VALUE)
    # Not equal to the byte: the allocator may give the new copy a slightly different block.
    assert assert_the_index_matches_the_values(redis_direct) < 1.5 * once
    assert indexed_ns(redis_direct) == {5}


async def test_a_value_gone_by_its_ttl_leaves_the_index_when_it_is_next_read(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    cache = bounded(redis)
    await write(cache, (1, 2))
    redis_direct.delete(KEY_PREFIX + "1")  # what its TTL does, without waiting for it
    assert await cache.get(1) is None
    assert indexed_ns(redis_direct) == {2}
    assert_the_index_matches_the_values(redis_direct)


async def test_instances_writing_at_once_keep_one_consistent_count(
    settings: Settings, redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    other = Redis.from_url(settings.redis_url)
    try:
        caches = (bounded(redis), bounded(other))
        await asyncio.gather(*(caches[n % 2].set(n, VALUE[: 40_000 + 997 * n]) for n in range(60)))
    finally:
        await other.aclose()
    assert len(cached_ns(redis_direct)) >= 10
    assert_the_index_matches_the_values(redis_direct)


async def test_the_scripts_are_loaded_again_after_redis_forgets_them(
    redis: Redis, redis_direct: redis_sync.Redis
) -> None:
    cache = bounded(redis)
    await cache.set(3, "6")
    redis_direct.script_flush()  # what a restart of Redis does to its script cache
    assert await cache.get(3) == "6"
    await cache.set(4, "24")
    assert await cache.get(4) == "24"
