"""The service on each Redis topology, against real servers: the account chain and /fact on a
Redis Cluster and under Sentinel; a small pool under load waits instead of failing; an
unreachable cluster gives 503 code 10, never a 500; readiness tells a replica from a master;
the factorial cache choice asks a cluster's primaries; a killed master fails commands within
a bound and the client finds its promoted replica by itself."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import tornado.web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import MaxConnectionsError
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.config.redis_topology import host_and_port
from factsvc.embedded import LOOPBACK, ManagedServer, _redis_argv, free_port
from factsvc.embedded_redis import RedisClusterServers, kill, replica_synced, wait_for
from factsvc.embedded_sentinel import RedisSentinelServers
from factsvc.errors import DependencyUnavailable
from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_cache_choice import choose_factorial_cache, shares_server
from factsvc.storage.redis_client import RedisClient, make_redis, writable
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_errors import REDIS_FAILURES
from tests.support.api import Api
from tests.support.lost_connections import kills_redis_nodes
from tests.support.polling import eventually_async
from tests.support.redis_topologies import cluster_settings, sentinel_settings
from tests.support.servers import AppFactory, redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=90)


@pytest.fixture(params=["cluster", "sentinel"])
def topology_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The suite's settings on the suite's Redis Cluster or Sentinel group, emptied first."""
    if request.param == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster_backend")
        cluster.flush()
        return cluster_settings(settings, cluster)
    group: RedisSentinelServers = request.getfixturevalue("redis_sentinel_backend")
    group.flush()
    return sentinel_settings(settings, group)


@pytest.fixture
def app(app_factory: AppFactory, topology_settings: Settings) -> tornado.web.Application:
    return app_factory(topology_settings)


async def test_the_account_chain_and_fact_work_on_each_topology(
    api: Api, topology_settings: Settings
) -> None:
    assert (await api.register("alice")).status == 201
    login = await api.login("alice")
    assert login.status == 200
    user = login.body["user"]
    assert (await api.get("/isLogined")).body["logined"] is True
    assert (await api.get("/account/info")).body["user"] == user
    edited = await api.post("/account/edit", {"nickname": "Al"})
    assert (edited.status, edited.body["user"]["nickname"]) == (200, "Al")
    assert (await api.post("/logout")).status == 200
    assert (await api.get("/isLogined")).body["logined"] is False
    for _ in range(2):  # computed, then from the cache on Redis
        fact = await api.get("/fact?n=30")
        assert (fact.status, int(fact.body["fact"])) == (200, math.factorial(30))
    ready = await api.get("/readyz")
    assert ready.status == 200, ready.body


@asynccontextmanager
async def unbounded_client(
    request: pytest.FixtureRequest, topology: str
) -> AsyncIterator[RedisClient]:
    """redis-py's own client of the suite's cluster or Sentinel master, with a pool of 2."""
    if topology == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster_backend")
        nodes = RedisCluster.from_url(f"redis://{cluster.startup_nodes[0]}/0", max_connections=2)
        yield nodes
        await nodes.aclose()
        return
    group: RedisSentinelServers = request.getfixturevalue("redis_sentinel_backend")
    sentinel = Sentinel([host_and_port(address) for address in group.sentinel_addresses])  # type: ignore[no-untyped-call]
    master: Redis = sentinel.master_for(group.master_name, max_connections=2)
    yield master
    await master.aclose()
    for each in sentinel.sentinels:
        await each.aclose()


async def test_a_small_pool_under_many_concurrent_commands_waits_instead_of_failing(
    request: pytest.FixtureRequest, topology_settings: Settings
) -> None:
    topology = topology_settings.redis_topology
    client = make_redis(with_settings(topology_settings, redis_max_connections=2))
    try:
        results = await asyncio.gather(*(client.incr(f"n{{{i % 7}}}") for i in range(500)))
        assert sorted(results)[-1] >= 500 // 7
    finally:
        await client.aclose()
    # Without the bound, redis-py's pool of 2 refuses at once: what the bound is for.
    async with unbounded_client(request, topology) as unbounded:
        refused = await asyncio.gather(
            *(unbounded.incr(f"n{{{i % 7}}}") for i in range(500)), return_exceptions=True
        )
    assert any(isinstance(result, MaxConnectionsError) for result in refused)


async def blocked_in_blpop(server: ManagedServer) -> None:
    """Return once a client of `server` waits in BLPOP; AssertionError after 10 s."""
    with redis_sync.Redis(port=server.port) as direct:
        await eventually_async(  # the client under test shares this loop
            lambda: any(
                each["cmd"] == "blpop" and "b" in each["flags"] for each in direct.client_list()
            ),
            10,
            "a client waits in BLPOP on the server",
            pause=0.01,
        )


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
async def test_a_command_beyond_the_pool_wait_is_a_redis_failure(
    request: pytest.FixtureRequest, settings: Settings, topology: str
) -> None:
    held_key = "held{q}"
    if topology == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster_backend")
        on = cluster_settings(settings, cluster)
        server = cluster.master_of_key(held_key)
    else:
        group: RedisSentinelServers = request.getfixturevalue("redis_sentinel_backend")
        on = sentinel_settings(settings, group)
        server = group.master()
    with redis_sync.Redis(port=server.port) as direct:
        direct.delete(held_key)
    client = make_redis(
        with_settings(
            on, redis_max_connections=1, redis_pool_timeout_seconds=0.1, redis_timeout_seconds=5
        )
    )
    store = RedisCounterStore(client)
    held: asyncio.Future[Any] | None = None
    try:
        await client.ping()  # the cluster's slots learnt, the connection open
        held = asyncio.ensure_future(client.blpop([held_key], 4))  # the one place, until pushed
        await blocked_in_blpop(server)
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable):
            await store.hit("waits", 60)
        # A 0.1 s wait; one without that bound lasts until BLPOP gives the place back (4 s).
        assert time.monotonic() - started < 1.0
        with redis_sync.Redis(port=server.port) as direct:
            direct.lpush(held_key, "go")
        assert list(await held) == [held_key.encode(), b"go"]
        assert await store.hit("waits", 60) == (1, 60)  # a place again
    finally:
        if held is not None and not held.done():
            held.cancel()
            await asyncio.wait({held})
        await client.aclose()


class TestAnUnreachableCluster:
    @pytest.fixture
    def app(self, app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
        """The app with REDIS_URL and REDIS_CLUSTER_NODES at ports where nothing listens."""
        return app_factory(
            with_settings(
                settings,
                redis_topology="cluster",
                redis_url=f"redis://{LOOPBACK}:{free_port()}/0",
                redis_cluster_nodes=(f"{LOOPBACK}:{free_port()}",),
            )
        )

    async def test_gives_503_code_10_never_500_and_fact_still_computes(self, api: Api) -> None:
        fact = await api.get("/fact?n=25")
        assert (fact.status, int(fact.body["fact"])) == (200, math.factorial(25))
        for reply in (await api.register("bob"), await api.login("bob")):
            assert (reply.status, reply.code) == (503, 10), reply.body
        assert (await api.get("/readyz")).status == 503


@pytest.fixture
def replica(redis_backend: ManagedServer, tmp_path: Path) -> Iterator[ManagedServer]:
    """A second redis-server, a replica (--replicaof) of the suite's Redis, synced."""
    port = free_port()
    data = tmp_path / "replica"
    data.mkdir()
    argv = _redis_argv(data, port, "--save", "", "--replicaof", LOOPBACK, str(redis_backend.port))
    server = ManagedServer("redis-server", argv, port, tmp_path / "replica.log", data / "pid")
    server.start()
    server.wait_until_listening()
    wait_for(lambda: replica_synced(port), "the replica did not sync", 10)
    yield server
    server.stop()


class TestASingleRedisUrlAtAReplica:
    @pytest.fixture
    def app(
        self, app_factory: AppFactory, settings: Settings, replica: ManagedServer
    ) -> tornado.web.Application:
        return app_factory(with_settings(settings, redis_url=redis_url(replica)))

    async def test_is_not_ready(self, api: Api, settings: Settings) -> None:
        ready = await api.get("/readyz")
        assert ready.status == 503
        assert ready.body["dependencies"] == {"redis": "unavailable", "mongodb": "ok"}
        on_master = make_redis(settings)  # the master it replicates is
        try:
            await writable(on_master)
        finally:
            await on_master.aclose()


async def test_the_cache_choice_asks_every_primary_of_a_cluster(
    settings: Settings, redis_cluster_backend: RedisClusterServers
) -> None:
    on_cluster = cluster_settings(settings, redis_cluster_backend)
    state, cache = make_redis(on_cluster), make_redis(on_cluster)
    single = make_redis(settings)
    masters = redis_cluster_backend.masters_now()
    try:
        assert await shares_server(cache, state), "two clients of one cluster share it"
        assert not await shares_server(cache, single)

        async def choose() -> object:
            return await choose_factorial_cache(
                cache, state=single, ttl_seconds=60, max_bytes=1 << 20
            )

        chosen = await choose()
        assert isinstance(chosen, BoundedRedisFactorialCache), "noeviction: the service bounds"
        for master in masters:
            with redis_sync.Redis(port=master.port) as direct:
                direct.config_set("maxmemory", 64 << 20)
                direct.config_set("maxmemory-policy", "allkeys-lru")
        chosen = await choose()
        assert isinstance(chosen, RedisFactorialCache), "every primary evicts by itself"
        with redis_sync.Redis(port=masters[-1].port) as direct:
            direct.config_set("maxmemory-policy", "noeviction")
        chosen = await choose()
        assert isinstance(chosen, BoundedRedisFactorialCache), "one primary does not evict"
    finally:
        for master in masters:
            with redis_sync.Redis(port=master.port) as direct:
                direct.config_set("maxmemory", 0)
                direct.config_set("maxmemory-policy", "noeviction")
        for client in (state, cache, single):
            await client.aclose()


async def _until_it_works(client: RedisClient, key: str, started: float) -> list[float]:
    """SET `key` until it succeeds (30 s at most); how long each failed attempt took."""
    failures: list[float] = []
    while time.monotonic() - started < 30:
        attempt = time.monotonic()
        try:
            await client.set(key, "after")
            return failures
        except REDIS_FAILURES:
            failures.append(time.monotonic() - attempt)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} still failing 30 s after the kill")


@kills_redis_nodes
@pytest.mark.parametrize("how", ["killed", "paused"])
async def test_a_dead_cluster_master_fails_commands_within_a_bound_until_its_replica_serves(
    settings: Settings, own_redis_cluster: RedisClusterServers, how: str
) -> None:
    client = make_redis(cluster_settings(settings, own_redis_cluster))
    key = "{dead}key"
    victim = own_redis_cluster.master_of_key(key)
    try:
        await client.set(key, "before")
        await writable(client)
        started = time.monotonic()
        if how == "killed":
            kill(victim)
        else:  # a hung host: connections open, nothing answers
            assert victim.process is not None
            os.kill(victim.process.pid, signal.SIGSTOP)
        with pytest.raises(REDIS_FAILURES):
            await writable(client)  # a primary that does not answer: not ready
        failures = await _until_it_works(client, key, started)
        recovered = time.monotonic() - started
        await writable(client)
        assert await client.get(key) == b"after"
        print(
            f"\ncluster master {how} (node timeout {own_redis_cluster.node_timeout_ms} ms, "
            f"REDIS_TIMEOUT_SECONDS {settings.redis_timeout_seconds}): {len(failures)} "
            f"failed commands, the slowest in {max(failures, default=0):.3f} s; "
            f"working again {recovered:.2f} s after"
        )
        # Each failure within the command's and its retry's timeouts, a re-read of the slots
        # (a timeout at most) and CLUSTERDOWN's 0.25 s pause: never a hang.
        assert max(failures, default=0) < 3 * settings.redis_timeout_seconds + 0.5
        assert recovered < 15
    finally:
        if victim.process is not None and victim.process.poll() is None:
            os.kill(victim.process.pid, signal.SIGCONT)
        await client.aclose()


@kills_redis_nodes
async def test_a_killed_sentinel_master_fails_commands_fast_until_sentinel_promotes_its_replica(
    settings: Settings, own_redis_sentinel: RedisSentinelServers
) -> None:
    client = make_redis(sentinel_settings(settings, own_redis_sentinel))
    old_master = own_redis_sentinel.master()
    try:
        await client.set("key", "before")
        await writable(client)
        started = time.monotonic()
        kill(old_master)
        failures = await _until_it_works(client, "key", started)
        recovered = time.monotonic() - started
        await writable(client)
        assert own_redis_sentinel.master() is not old_master
        print(
            f"\nsentinel master killed (down-after {own_redis_sentinel.down_after_ms} ms): "
            f"{len(failures)} failed commands, the slowest in {max(failures, default=0):.3f} s; "
            f"working again {recovered:.2f} s after"
        )
        assert max(failures, default=0) < 2 * settings.redis_timeout_seconds + 0.5
        assert recovered < 15
    finally:
        await client.aclose()


class TestASmallPoolUnderManyRequests:
    @pytest.fixture
    def app(self, app_factory: AppFactory, topology_settings: Settings) -> tornado.web.Application:
        """The app on a cluster or Sentinel master with 2 connections (per node)."""
        return app_factory(with_settings(topology_settings, redis_max_connections=2))

    async def test_every_request_is_answered_none_refused(
        self, api: Api, base_url: str, topology_settings: Settings
    ) -> None:
        await api.register("alice")
        token = (await api.login("alice", session="token")).body["token"]
        client = AsyncHTTPClient(force_instance=True, max_clients=48)
        try:
            replies = await asyncio.gather(
                *(
                    client.fetch(
                        f"{base_url}/account/info",
                        headers={"Authorization": f"Bearer {token}"},
                        raise_error=False,
                    )
                    for _ in range(300)
                )
            )
        finally:
            client.close()
        assert [reply.code for reply in replies] == [200] * 300


@kills_redis_nodes
async def test_after_a_switchover_writes_reach_the_new_master_before_the_old_is_demoted(
    settings: Settings, own_redis_sentinel: RedisSentinelServers
) -> None:
    client = make_redis(sentinel_settings(settings, own_redis_sentinel))
    old_master, new_master = own_redis_sentinel.master(), own_redis_sentinel.replica()
    on_old_master = make_redis(with_settings(settings, redis_url=redis_url(old_master)))
    try:
        await client.set("key", "before")  # its connections are to the old master now
        await writable(on_old_master)
        with redis_sync.Redis(port=own_redis_sentinel.sentinel_nodes[0].port) as sentinel:
            sentinel.execute_command("SENTINEL FAILOVER", own_redis_sentinel.master_name)
        started = time.monotonic()
        # The old master takes writes for some 10 s more, until Sentinel reconfigures it as a
        # replica (and its data is replaced): writes must leave it as soon as the sentinels
        # name the new master.
        failures, written = 0, 0
        with redis_sync.Redis(port=new_master.port) as direct:
            while time.monotonic() - started < 20:
                # Promoted before the write, so that it no longer replicates the old master.
                promoted = direct.info("replication")["role"] == "master"
                written += 1
                try:
                    await client.set("key", written)
                except REDIS_FAILURES:
                    failures += 1
                    continue
                if promoted and direct.get("key") == str(written).encode():
                    break
                await asyncio.sleep(0.05)
        moved = time.monotonic() - started
        await writable(client)
        print(
            f"\nsentinel switchover (SENTINEL FAILOVER): writes reach the new master "
            f"{moved:.2f} s on, {failures} of {written} failed on the way"
        )
        assert moved < 5

        def demoted() -> bool:
            with redis_sync.Redis(port=old_master.port) as direct:
                return bool(direct.info("replication")["role"] == "slave")

        wait_for(demoted, "the old master was not made a replica", 20)
        with pytest.raises(REDIS_FAILURES, match="ROLE"):
            await writable(on_old_master)  # pointed at it directly: not ready
        await client.set("key", "after")
        await writable(client)
    finally:
        await client.aclose()
        await on_old_master.aclose()


async def test_a_fresh_cluster_client_answers_concurrent_first_commands(
    redis_cluster_backend: RedisClusterServers, settings: Settings
) -> None:
    """Several commands at once on a client that has not learnt the slots yet: each is
    answered (without waiting for the slots, some met closed startup nodes: AttributeError)."""
    failures: list[BaseException] = []
    for attempt in range(10):
        client = make_redis(cluster_settings(settings, redis_cluster_backend))
        try:
            results = await asyncio.gather(
                *(
                    client.eval("return redis.call('get', KEYS[1])", 1, f"{{f{attempt}}}:{i}")
                    for i in range(10)
                ),
                return_exceptions=True,
            )
        finally:
            await client.aclose()
        failures += [result for result in results if isinstance(result, BaseException)]
    assert failures == []
