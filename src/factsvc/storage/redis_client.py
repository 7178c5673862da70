"""Builds each role's Redis client (one server, a Redis Cluster or a Sentinel's master) with
timeouts that fit a request budget, and asks it whether it takes writes (readiness)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from factsvc.config import Settings
from factsvc.storage.redis_errors import REDIS_FAILURES
from factsvc.storage.redis_topology import BoundedRedisCluster, cluster_client, sentinel_client

# What every storage adapter takes: one server or a Sentinel's master (Redis), or a Redis
# Cluster. The adapters use only commands that both run alike (single-slot keys, scripts).
RedisClient: TypeAlias = Redis | RedisCluster

Role = Literal["state", "cache"]

log = logging.getLogger(__name__)


def hash_tag(name: str) -> str:
    """`name` as a Redis Cluster hash tag: keys that contain the same tag lie in one hash
    slot, since only the text between a key's first `{` and the next `}` is hashed (Redis
    Cluster specification, "Hash tags")."""
    return "{" + name + "}"


class Endpoint(NamedTuple):
    """Where a role's Redis is: its topology, URL, more cluster nodes, sentinel master name."""

    topology: str
    url: str
    nodes: tuple[str, ...]
    master: str


class NotWritable(RedisError):
    """A Redis that answers but cannot take the service's writes: a replica (a demoted master
    among them), or a cluster with slots uncovered."""


def endpoint(settings: Settings, role: Role) -> Endpoint:
    """The state's Redis (REDIS_URL, REDIS_TOPOLOGY, ...) or the factorial cache's
    (REDIS_CACHE_URL, REDIS_CACHE_TOPOLOGY, ...)."""
    if role == "state":
        return Endpoint(
            settings.redis_topology,
            settings.redis_url,
            settings.redis_cluster_nodes,
            settings.redis_sentinel_master,
        )
    return Endpoint(
        settings.redis_cache_topology,
        settings.redis_cache_url,
        settings.redis_cache_cluster_nodes,
        settings.redis_cache_sentinel_master,
    )


def cache_uses_state_client(settings: Settings) -> bool:
    """Whether the factorial cache runs on the state's client: when REDIS_CACHE_URL is empty
    (it then reads as REDIS_URL) or REDIS_URL's and REDIS_CACHE_TOPOLOGY is single, whatever
    the state's topology; or when the cache's endpoint is the state's."""
    cache, state = endpoint(settings, "cache"), endpoint(settings, "state")
    return cache == state or (cache.topology == "single" and cache.url == state.url)


def make_redis(settings: Settings, role: Role = "state") -> RedisClient:
    """The client of `role`'s Redis, with REDIS_TIMEOUT_SECONDS on every socket (sentinels'
    too), at most REDIS_MAX_CONNECTIONS connections (per node on a cluster) and commands at
    once, a command waiting up to REDIS_POOL_TIMEOUT_SECONDS for one, then failing with a
    RedisError. Close it with close(): that closes its pool too."""
    where = endpoint(settings, role)
    bounds: dict[str, Any] = {
        "max_connections": settings.redis_max_connections,
        "timeout_seconds": settings.redis_timeout_seconds,
        "pool_timeout_seconds": settings.redis_pool_timeout_seconds,
    }
    if where.topology == "cluster":
        return cluster_client(where.url, where.nodes, **bounds)
    if where.topology == "sentinel":
        return sentinel_client(
            where.url,
            settings.redis_sentinels,
            where.master,
            sentinel_password=settings.redis_sentinel_password,
            **bounds,
        )
    timeout = settings.redis_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        where.url,
        max_connections=settings.redis_max_connections,
        # How long a command waits for a free connection. Waiting is local queueing, not a
        # sign of a Redis failure: at 512 connections the 0.5 s command timeout, used here as
        # well, turned a busy pool into 503s while Redis itself answered in microseconds.
        timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # One retry reconnects a connection that a Redis restart left stale.
        retry=Retry(NoBackoff(), retries=1),
    )
    return Redis.from_pool(pool)


async def close(redis: RedisClient) -> None:
    """Close a client make_redis made, for good: its pools, and on a cluster a learning of the
    slots still under way (BoundedRedisCluster.close_for_good)."""
    if isinstance(redis, BoundedRedisCluster):
        await redis.close_for_good()
    else:
        await redis.aclose()


async def primaries_info(redis: RedisClient, section: str) -> list[Mapping[str, Any]]:
    """INFO `section` of every server holding `redis`'s data: the one server (or master), or
    each primary of a cluster (a cluster's own INFO asks one node, or merges several)."""
    if not isinstance(redis, RedisCluster):
        return [await redis.info(section)]
    await redis.initialize()
    return list(
        await asyncio.gather(
            *(redis.info(section, target_nodes=node) for node in redis.get_primaries())
        )
    )


async def writable(redis: RedisClient, topology_variable: str = "REDIS_TOPOLOGY") -> None:
    """Readiness of a role's Redis: it takes writes. One server or a Sentinel's master: ROLE
    says master (a replica, such as a master that Sentinel demoted, is not ready) and INFO
    cluster says cluster_enabled:0 (a cluster node answers MOVED for most keys). A cluster:
    every primary answers CLUSTER INFO with cluster_state ok (every slot served).
    NotWritable when it answers otherwise, its message naming `topology_variable` when that
    is what to change; a RedisError (or OSError) when it cannot answer."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()
        states = await asyncio.gather(
            *(
                redis.execute_command("CLUSTER INFO", target_nodes=node)
                for node in redis.get_primaries()
            )
        )
        if not states or any(state.get("cluster_state") != "ok" for state in states):
            raise NotWritable("cluster_state is not ok")
        return
    role = (await redis.role())[0]
    if role in (b"sentinel", "sentinel"):
        raise NotWritable(
            f"ROLE sentinel: a sentinel, not a Redis server; set {topology_variable}=sentinel"
        )
    if role not in (b"master", "master"):
        raise NotWritable(f"ROLE {role!r}")
    if (await redis.info("cluster")).get("cluster_enabled"):
        raise NotWritable(f"a Redis Cluster node (MOVED); set {topology_variable}=cluster")


async def warn_unless_writable(
    redis: RedisClient, topology_variable: str, timeout_seconds: float
) -> None:
    """At start: log a warning, naming `topology_variable` when it is what to change, unless
    `redis` takes writes within `timeout_seconds` (see `writable`). Never raises: the service
    starts anyway and answers 503 until Redis is fit."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await writable(redis, topology_variable)
    except REDIS_FAILURES as failure:  # TimeoutError among them: an OSError
        log.warning(
            "Redis (%s) not ready at start; what needs it answers 503: %s: %s",
            topology_variable,
            type(failure).__name__,
            failure,
        )
