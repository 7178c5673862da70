"""Which factorial cache adapter a Redis server gets: plain GET and SET on a server that
bounds its own memory, the service's own bound on any other (the state server above all)."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_errors import REDIS_FAILURES

log = logging.getLogger(__name__)


async def choose_factorial_cache(
    redis: Redis, *, shares_state: bool, ttl_seconds: int, max_bytes: int
) -> RedisFactorialCache | BoundedRedisFactorialCache:
    """The adapter for the cache on `redis`. A server that holds state (`shares_state`) gets
    the service's bound, which never touches other keys. A server of the cache's own gets
    plain GET and SET when INFO says it evicts by itself (maxmemory set, a policy other than
    noeviction); when it does not, or cannot be asked at start, the service's bound, with a
    warning. Never raises for an unreachable server: the service runs without its cache."""
    bounded = BoundedRedisFactorialCache(redis, ttl_seconds=ttl_seconds, max_bytes=max_bytes)
    if shares_state:
        log.debug("the factorial cache shares REDIS_URL: kept within %d bytes", max_bytes)
        return bounded
    try:
        memory = await redis.info("memory")
    except REDIS_FAILURES as error:
        log.warning(
            "factorial cache server (REDIS_CACHE_URL) unreachable at start (%s): the service "
            "bounds the cache itself to FACT_CACHE_MAX_BYTES",
            type(error).__name__,
        )
        return bounded
    max_memory, policy = int(memory.get("maxmemory", 0)), str(memory.get("maxmemory_policy"))
    if max_memory and policy != "noeviction":
        log.debug(
            "the factorial cache server evicts by itself: maxmemory %d, %s", max_memory, policy
        )
        return RedisFactorialCache(redis, ttl_seconds=ttl_seconds)
    log.warning(
        "factorial cache server (REDIS_CACHE_URL) does not evict (maxmemory %d, "
        "maxmemory-policy %s): the service bounds the cache itself to FACT_CACHE_MAX_BYTES; "
        "give the server maxmemory and allkeys-lru to spare it that work",
        max_memory,
        policy,
    )
    return bounded
