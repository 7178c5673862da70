"""Builds the redis.asyncio client with timeouts that fit a request budget."""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from factsvc.config import Settings

# What every storage adapter takes: one server or a Sentinel's master (Redis), or a Redis
# Cluster. The adapters use only commands that both run alike (single-slot keys, scripts).
RedisClient: TypeAlias = Redis | RedisCluster


def make_redis(settings: Settings, url: str = "") -> Redis:
    """A client of `url`, else of REDIS_URL, with the REDIS_* timeouts and pool size."""
    timeout = settings.redis_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        url or settings.redis_url,
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
    return Redis(connection_pool=pool)


async def ping(redis: Redis) -> None:
    await redis.ping()
