"""The fault matrix: each network fault on each dependency, seen from each endpoint group.

A FaultProxy sits between the service and Redis, another between the service and the
MongoDB-compatible server. Each cell registers and logs in while the path is clean, turns
one fault on, times one request, turns the fault off, and checks that the service recovers
by itself and that the data written before the fault is still there.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis as redis_sync
import tornado.ioloop
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.embedded import ManagedServer
from factsvc.storage.redis_cache import KEY_PREFIX
from tests.support.api import Api, Reply
from tests.support.cache_writes import written_back
from tests.support.faultproxy import FaultProxy, Mode
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=30)

LATENCY_MS = 2000
# After the fault clears: how long the service may take to use the dependency again (a
# deadline for polling; recovery takes about 1 s here, the cache's pause after a failure).
RECOVERY_SECONDS = 15.0
RETRY_PAUSE = 0.1


@dataclass(frozen=True)
class Fault:
    name: str
    mode: Mode
    latency_ms: int = 0

    async def apply(self, proxy: FaultProxy) -> None:
        await proxy.set_mode(self.mode, self.latency_ms)


FAULTS = (
    Fault("latency", Mode.LATENCY, LATENCY_MS),
    Fault("blackhole", Mode.BLACKHOLE),
    Fault("reset", Mode.RESET),
    Fault("refuse", Mode.REFUSE),
)


@dataclass(frozen=True)
class Expected:
    status: int
    within: float  # seconds

    @property
    def unavailable(self) -> bool:
        return self.status == 503


# The suite's timeouts are 0.5 s for Redis (a command and its one retry: ~1 s measured) and
# 1 s for MongoDB (~1 s measured). Each bound leaves 1.5 s or more for a loaded machine, under
# a round trip through LATENCY_MS each way (4 s), far under the 10-30 s a request waiting for a
# driver's or the OS's default timeout takes. /fact needs no MongoDB (~2 ms measured): its bound
# stays under the 1 s a /fact that waited for MongoDB's timeout would take.
OK_FAST = Expected(200, 0.9)
OK_UNCACHED = Expected(200, 2.5)
OK_FROM_SNAPSHOT = Expected(200, 3.5)
REDIS_DOWN = Expected(503, 2.5)
MONGO_DOWN = Expected(503, 3.5)

# What each endpoint group answers while one dependency is faulty, whatever the fault.
EXPECTED: dict[tuple[str, str], Expected] = {
    # dependency  endpoint
    ("redis", "fact"): OK_UNCACHED,
    ("redis", "isLogined"): REDIS_DOWN,
    ("redis", "account/info"): REDIS_DOWN,
    ("redis", "login"): REDIS_DOWN,
    ("mongodb", "fact"): OK_FAST,
    ("mongodb", "isLogined"): OK_FROM_SNAPSHOT,
    ("mongodb", "account/info"): MONGO_DOWN,
    ("mongodb", "login"): MONGO_DOWN,
}

# Cells that are measured not to behave as EXPECTED says: (dependency, fault, endpoint) to
# the measured behaviour. Each one stays a strict xfail until the service is fixed.
DEVIATIONS: dict[tuple[str, str, str], str] = {}


def cells() -> list[object]:
    """One test per (dependency, fault, endpoint), named like `redis-reset-account_info`."""
    return [
        pytest.param(
            dependency,
            fault,
            endpoint,
            expected,
            id=f"{dependency}-{fault.name}-{endpoint.replace('/', '_')}",
            marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [],
        )
        for (dependency, endpoint), expected in EXPECTED.items()
        for fault in FAULTS
        for reason in [DEVIATIONS.get((dependency, fault.name, endpoint))]
    ]


@dataclass(frozen=True)
class Proxies:
    redis: FaultProxy
    mongodb: FaultProxy

    def of(self, dependency: str) -> FaultProxy:
        return {"redis": self.redis, "mongodb": self.mongodb}[dependency]


@pytest.fixture
def proxies(
    io_loop: tornado.ioloop.IOLoop, redis_backend: ManagedServer, mongo_backend: ManagedServer
) -> Iterator[Proxies]:
    """Both proxies, on the test's loop."""
    redis_proxy = io_loop.run_sync(FaultProxy(redis_backend.port).start)
    try:
        mongo_proxy = io_loop.run_sync(FaultProxy(mongo_backend.port).start)
        try:
            yield Proxies(redis=redis_proxy, mongodb=mongo_proxy)
        finally:
            io_loop.run_sync(mongo_proxy.aclose)
    finally:
        io_loop.run_sync(redis_proxy.aclose)


@pytest.fixture
def app(app_factory: AppFactory, proxies: Proxies, settings: Settings) -> tornado.web.Application:
    # app_factory before proxies: the proxies close before the service's clients do. Closing
    # the MongoDB client is a blocking call on the loop (it ends the server sessions): through
    # a proxy served by that very loop it would wait ~10 s for its socket timeout; with the
    # proxy gone it waits ~1 s, for server selection to give up. directConnection: the replica
    # set's hello names the server's own port, where the driver would otherwise go round the
    # proxy.
    return app_factory(
        with_settings(
            settings,
            redis_url=proxies.redis.url("redis", "/0"),
            mongodb_uri=proxies.mongodb.url("mongodb", "/?directConnection=true"),
        )
    )


_fresh = itertools.count(300)


@dataclass
class Client:
    """A registered, logged-in user, and a way to call each endpoint group."""

    http: AsyncHTTPClient
    base_url: str
    redis: redis_sync.Redis
    token: str = ""
    user_id: str = ""
    n: int = 0

    def api(self) -> Api:
        return Api(self.http, self.base_url)

    async def call(self, endpoint: str) -> Reply:
        api = self.api()
        if endpoint == "fact":
            self.n = next(_fresh)
            return await api.get(f"/fact?n={self.n}")
        if endpoint == "login":  # a fresh client: a presented session would be ended
            return await api.login()
        return await api.get(f"/{endpoint}", token=self.token)

    def answered(self, endpoint: str, reply: Reply) -> bool:
        """Whether a 200 reply is the right answer, with the pre-fault user where one shows."""
        if reply.status != 200:
            return False
        if endpoint == "fact":
            return bool(reply.body["fact"] == str(math.factorial(self.n)))
        if endpoint == "isLogined":
            return reply.body["logined"] is True and reply.body["user"]["id"] == self.user_id
        return bool(reply.body["user"]["id"] == self.user_id)

    async def cached_in_redis(self) -> bool:
        """Whether the last computed n reached Redis (the write happens in the background)."""
        try:
            await written_back(self.redis, KEY_PREFIX + str(self.n), within=1.0)
        except AssertionError:
            return False
        return True

    async def account(self) -> Reply:
        return await self.api().get("/account/info", token=self.token)


async def timed(call: Awaitable[Reply]) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = await call
    return reply, time.monotonic() - started


async def eventually(check: Callable[[], Awaitable[bool]], deadline: float) -> bool:
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(RETRY_PAUSE)


@pytest.mark.parametrize(("dependency", "fault", "endpoint", "expected"), cells())
async def test_fault_matrix(
    http_client: AsyncHTTPClient,
    base_url: str,
    proxies: Proxies,
    redis_direct: redis_sync.Redis,
    dependency: str,
    fault: Fault,
    endpoint: str,
    expected: Expected,
) -> None:
    client = Client(http_client, base_url, redis_direct)
    api = client.api()
    registered = await api.register()
    assert registered.status == 201
    client.user_id = registered.body["user"]["id"]
    logged_in = await api.login()
    assert logged_in.status == 200
    client.token = logged_in.body["token"]
    assert (await client.account()).status == 200
    assert proxies.redis.accepted > 0, "the service reaches Redis through its proxy"
    assert proxies.mongodb.accepted > 0, "the service reaches MongoDB through its proxy"

    proxy = proxies.of(dependency)
    await fault.apply(proxy)
    try:
        reply, elapsed = await timed(client.call(endpoint))
    finally:
        await proxy.set_mode(Mode.PASS)
    cleared = time.monotonic()
    # Shown with -s (or -rP): the measured cell, for the matrix in the docs.
    print(f"\nFAULT-CELL {dependency} {fault.name} {endpoint} {reply.status} {elapsed:.3f}s")

    assert reply.status == expected.status, reply.body
    assert elapsed < expected.within
    if expected.unavailable:
        assert reply.code == 10
        assert reply.body["dependencies"] == {dependency: "unavailable"}
        assert int(reply.headers["Retry-After"]) >= 1
    else:
        assert client.answered(endpoint, reply)
        if endpoint == "fact" and dependency == "redis":
            assert reply.body["cached"] is False

    # Recovery, without a restart: the endpoint answers again (and /fact fills Redis again,
    # once the cache's one-second pause after a failure has passed) ...
    deadline = cleared + RECOVERY_SECONDS

    async def endpoint_recovered() -> bool:
        reply = await client.call(endpoint)
        if not client.answered(endpoint, reply):
            return False
        return endpoint != "fact" or await client.cached_in_redis()

    assert await eventually(endpoint_recovered, deadline), f"{endpoint} recovers"
    print(f"RECOVERED {dependency} {fault.name} {endpoint} {time.monotonic() - cleared:.3f}s")

    # ... and the user and the session written before the fault are still there.
    async def data_kept() -> bool:
        return client.answered("account/info", await client.account())

    assert await eventually(data_kept, deadline), "the pre-fault user and session are kept"
