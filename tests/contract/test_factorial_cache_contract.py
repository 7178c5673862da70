"""The FactorialCache port: FakeCache, RedisFactorialCache (a cache server of its own) and
BoundedRedisFactorialCache (a server shared with state) pass the same checks."""

from __future__ import annotations

import pytest

from factsvc.errors import CacheUnavailable
from factsvc.services.factorial import FactorialCache
from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_client import RedisClient
from tests.contract.subjects import (
    DEAD_REDIS,
    LIVE_REDIS,
    ManualClock,
    Subject,
    fake_subject,
    real_subject,
)
from tests.support.fakes import FakeCache

pytestmark = pytest.mark.gen_test(timeout=30)


@pytest.fixture(params=["fake", "redis", "bounded", "redis-cluster", "bounded-cluster"])
def caches(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[FactorialCache]:
    if request.param == "fake":
        cut_off = FakeCache()
        cut_off.available = False
        return fake_subject(FakeCache(), cut_off, clock)
    adapter, _, backend = request.param.partition("-")
    live: RedisClient = request.getfixturevalue(LIVE_REDIS[backend or "redis"])
    dead: RedisClient = request.getfixturevalue(DEAD_REDIS[backend or "redis"])
    if adapter == "bounded":
        return real_subject(
            BoundedRedisFactorialCache(live, ttl_seconds=60, max_bytes=1 << 20),
            BoundedRedisFactorialCache(dead, ttl_seconds=60, max_bytes=1 << 20),
        )
    return real_subject(
        RedisFactorialCache(live, ttl_seconds=60), RedisFactorialCache(dead, ttl_seconds=60)
    )


async def test_a_miss_is_none(caches: Subject[FactorialCache]) -> None:
    assert await caches.store.get(12) is None


async def test_a_stored_value_is_served_per_n_and_the_last_write_wins(
    caches: Subject[FactorialCache],
) -> None:
    await caches.store.set(12, "479001600")
    await caches.store.set(5, "1")
    await caches.store.set(5, "120")
    assert [await caches.store.get(n) for n in (12, 5, 4)] == ["479001600", "120", None]


async def test_get_and_set_fail_as_cache_unavailable_without_the_backend(
    caches: Subject[FactorialCache],
) -> None:
    with pytest.raises(CacheUnavailable):
        await caches.cut_off.get(12)
    with pytest.raises(CacheUnavailable):
        await caches.cut_off.set(12, "479001600")
