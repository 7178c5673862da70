"""A crawl of many distinct large n through the HTTP API: the factorial cache's memory stays
within its bound, on a cache server of its own (maxmemory, allkeys-lru, as `serve --embedded`
and docker-compose run it) and on the state server it shares (the service's own bound), and a
session made before the crawl still works after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis as redis_sync

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.embedded import ManagedServer
from factsvc.storage.redis_bounded_cache import BYTES_KEY, INDEX_KEY
from factsvc.storage.redis_cache import HASH_TAG, KEY_PREFIX, PLAIN_KEY_PREFIX
from tests.conftest import CACHE_SERVER_MAX_BYTES
from tests.support.api import Api
from tests.support.servers import redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

CRAWL = range(20_000, 32_000, 150)  # 80 distinct n of 77 to 127 thousand digits: 8 MB in all
SHARED_BOUND = 2 << 20
# Redis's own buffers for one client sending or receiving a value of the crawl, beside the
# cache's bytes, in the growth of the shared server's used_memory.
CLIENT_BUFFERS = 512 << 10


@dataclass
class CacheUnderTest:
    """Where a crawl's values go, and how to measure them there."""

    settings: Settings
    bound: int
    memory: Callable[[], int]
    values: redis_sync.Redis


@pytest.fixture(params=["own server", "shared server"])
def cache(
    request: pytest.FixtureRequest, settings: Settings, redis_direct: redis_sync.Redis
) -> Iterator[CacheUnderTest]:
    if request.param == "shared server":
        start = int(redis_direct.info("memory")["used_memory"])
        yield CacheUnderTest(
            with_settings(settings, fact_cache_max_bytes=SHARED_BOUND),
            SHARED_BOUND,
            # The index's count, checked against the growth of the whole server's memory.
            lambda: max(
                int(redis_direct.get(BYTES_KEY) or 0),
                int(redis_direct.info("memory")["used_memory"]) - start - CLIENT_BUFFERS,
            ),
            redis_direct,
        )
        return
    server: ManagedServer = request.getfixturevalue("own_redis_cache")
    direct = redis_sync.Redis(host="127.0.0.1", port=server.port)
    yield CacheUnderTest(
        with_settings(settings, redis_cache_url=redis_url(server)),
        CACHE_SERVER_MAX_BYTES,
        # INFO first makes Redis evict down to maxmemory, as any command does.
        lambda: int(direct.info("memory")["used_memory"]),
        direct,
    )
    direct.close()


@pytest.fixture
def app_settings(cache: CacheUnderTest) -> Settings:
    return cache.settings


async def test_a_crawl_keeps_the_cache_within_its_bound_and_sessions_working(
    api: Api, services: Services, cache: CacheUnderTest, redis_direct: redis_sync.Redis
) -> None:
    await api.register()
    token = (await api.login(session="token")).body["token"]
    await api.login(password="a wrong password", session="token")  # a rate-limit counter
    state = {key: redis_direct.type(key) for key in redis_direct.keys("*")}
    assert len(state) >= 3

    digits = 0
    for n in CRAWL:
        reply = await api.get(f"/fact?n={n}")
        assert reply.status == 200
        digits += reply.body["digits"]
        await services.factorials.drain()  # the value's write to the cache
        assert cache.memory() <= cache.bound, f"over the bound after n={n}"

    assert digits > 2 * cache.bound, "the crawl would not fit without evictions"
    shared = cache.values is redis_direct
    kept = cache.values.keys((KEY_PREFIX if shared else PLAIN_KEY_PREFIX) + "*")
    assert 8 <= len(kept) < len(CRAWL) / 2, "the cache keeps what fits and evicts the rest"
    assert {key: redis_direct.type(key) for key in state} == state, "no state key was evicted"
    assert (await api.get("/account/info", token=token)).body["user"]["username"] == "alice"
    if cache.values is not redis_direct:
        # Its own server bounds itself: plain values, no index, nothing on the state server.
        assert not cache.values.exists(INDEX_KEY)
        assert not redis_direct.keys(HASH_TAG + "*")
