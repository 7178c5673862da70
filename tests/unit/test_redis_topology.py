"""Each Redis role's client by topology (one server, Redis Cluster, a Sentinel's master), built
without a server, and the bound on commands at once that makes Cluster and Sentinel wait."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from factsvc.config import Settings
from factsvc.storage.redis_client import cache_uses_state_client, make_redis
from factsvc.storage.redis_topology import CommandSlots, SentinelMaster

pytestmark = pytest.mark.gen_test

SENTINELS = {"REDIS_SENTINELS": "s1:26379,[::1]:26380", "REDIS_SENTINEL_MASTER": "factsvc"}


async def test_a_command_waits_for_a_place_and_takes_the_one_freed() -> None:
    slots = CommandSlots(2, timeout_seconds=5)
    await slots.acquire()
    await slots.acquire()
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    slots.release()
    await asyncio.wait_for(waiting, 1)


async def test_a_command_that_finds_no_place_in_time_fails_as_redis_does() -> None:
    slots = CommandSlots(1, timeout_seconds=0.1)
    await slots.acquire()
    started = time.monotonic()
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await slots.acquire()
    assert 0.1 <= time.monotonic() - started < 0.5
    slots.release()
    await asyncio.wait_for(slots.acquire(), 1)


async def test_a_single_server_gets_a_blocking_pool_as_before() -> None:
    settings = Settings.from_env(
        {"REDIS_URL": "redis://:pw@r1:6380/3", "REDIS_MAX_CONNECTIONS": "7"}
    )
    client = make_redis(settings)
    assert type(client) is Redis
    pool = client.connection_pool
    assert isinstance(pool, BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (7, 5.0)
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "r1",
        6380,
        3,
        "pw",
    )
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.5
    await client.aclose()


async def test_a_cluster_starts_from_every_node_given_with_the_urls_credentials_and_tls() -> None:
    settings = Settings.from_env(
        {
            "REDIS_TOPOLOGY": "cluster",
            "REDIS_URL": "rediss://app:pw@n1:7000/0",
            "REDIS_CLUSTER_NODES": "n2:7001,[::1]:7002",
            "REDIS_TIMEOUT_SECONDS": "0.3",
            "REDIS_MAX_CONNECTIONS": "9",
        }
    )
    client = make_redis(settings)
    assert isinstance(client, RedisCluster)
    nodes = {(node.host, node.port) for node in client.nodes_manager.startup_nodes.values()}
    assert nodes == {("n1", 7000), ("n2", 7001), ("::1", 7002)}
    kwargs = client.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["max_connections"]) == ("app", "pw", 9)
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.3
    assert "SSL" in kwargs["connection_class"].__name__
    await client.aclose()


async def test_a_sentinel_master_takes_the_urls_credentials_and_database_not_its_host() -> None:
    settings = Settings.from_env(
        {
            "REDIS_TOPOLOGY": "sentinel",
            "REDIS_URL": "redis://app:pw@unused:1/2",
            "REDIS_SENTINEL_PASSWORD": "sentinel-pw",
            **SENTINELS,
        }
    )
    client = make_redis(settings)
    assert isinstance(client, SentinelMaster)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert (pool.service_name, pool.is_master) == ("factsvc", True)
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("app", "pw", 2)
    assert "host" not in kwargs
    assert kwargs["socket_timeout"] == 0.5
    sentinels = client.sentinel_manager.sentinels
    addresses = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ]
    assert addresses == [("s1", 26379), ("::1", 26380)]
    for sentinel in sentinels:
        sentinel_kwargs = sentinel.connection_pool.connection_kwargs
        assert (sentinel_kwargs["password"], sentinel_kwargs["socket_timeout"]) == (
            "sentinel-pw",
            0.5,
        )
    await client.aclose()


async def test_the_cache_has_its_own_sentinel_master_beside_the_state_one() -> None:
    settings = Settings.from_env(
        {
            "REDIS_TOPOLOGY": "sentinel",
            "REDIS_URL": "redis://:pw@unused:1/0",
            "REDIS_CACHE_TOPOLOGY": "sentinel",
            "REDIS_CACHE_URL": "redis://:pw@unused:1/0",
            "REDIS_CACHE_SENTINEL_MASTER": "factsvc-cache",
            **SENTINELS,
        }
    )
    assert not cache_uses_state_client(settings)
    client = make_redis(settings, "cache")
    assert isinstance(client, SentinelMaster)
    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.service_name == "factsvc-cache"
    await client.aclose()


@pytest.mark.parametrize(
    ("env", "shared"),
    [
        ({}, True),
        ({"REDIS_TOPOLOGY": "cluster"}, True),
        ({"REDIS_TOPOLOGY": "sentinel", **SENTINELS}, True),
        ({"REDIS_CACHE_URL": "redis://localhost:6379/0"}, True),
        ({"REDIS_CACHE_URL": "redis://cache:6379/0"}, False),
        ({"REDIS_CACHE_TOPOLOGY": "cluster"}, False),
        ({"REDIS_TOPOLOGY": "cluster", "REDIS_CACHE_TOPOLOGY": "cluster"}, True),
        (
            {"REDIS_CACHE_TOPOLOGY": "sentinel", "REDIS_CACHE_SENTINEL_MASTER": "c", **SENTINELS},
            False,
        ),
    ],
)
def test_the_cache_runs_on_the_state_client_unless_configured_apart(
    env: dict[str, str], shared: bool
) -> None:
    assert cache_uses_state_client(Settings.from_env(env)) is shared
