"""Which factorial cache adapter a Redis server gets: plain GET and SET on a server of the
cache's own that bounds its own memory, the service's own bound on any other (the state
server above all, however its URL names it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_client import RedisClient, primaries_info
from factsvc.storage.redis_errors import REDIS_FAILURES

log = logging.getLogger(__name__)

# A reply without run_id (a proxy in front of Redis) cannot prove two servers apart either.
_INFO_FAILURES: tuple[type[BaseException], ...] = (*REDIS_FAILURES, KeyError)


async def shares_server(cache: RedisClient, state: RedisClient) -> bool:
    """Whether `cache` and `state` reach a redis-server in common: the same client, or a
    `run_id` in INFO server in common (a server's random identity for the life of its
    process, so two URLs that name one server differently, or name two of its databases,
    still match); a cluster's servers are its primaries. True, with a warning, when either
    cannot be asked: sharing is the safe guess, since the service's bound never evicts state.
    Never raises for an unreachable server."""
    if cache is state:
        return True
    run_ids: list[set[str]] = []
    for name, client in (("REDIS_CACHE_URL", cache), ("REDIS_URL", state)):
        try:
            run_ids.append({str(info["run_id"]) for info in await primaries_info(client, "server")})
        except _INFO_FAILURES as error:
            log.warning(
                "%s unreachable at start (%s): the factorial cache is taken to share the "
                "state server, and the service bounds it itself to FACT_CACHE_MAX_BYTES",
                name,
                type(error).__name__,
            )
            return True
    return bool(run_ids[0] & run_ids[1])


async def choose_factorial_cache(
    redis: RedisClient, *, state: RedisClient, ttl_seconds: int, max_bytes: int
) -> RedisFactorialCache | BoundedRedisFactorialCache:
    """The adapter for the cache on `redis`, beside the state store on `state`. When both
    share a server (`shares_server`: by `run_id`, whatever the URLs and database numbers, and
    when either cannot be asked at start) the service's bound, which never touches other
    keys. Servers of the cache's own (one, or a cluster's primaries) get plain GET and SET
    when INFO memory says each evicts by itself (maxmemory set, a policy other than
    noeviction); when one does not, the service's bound, with a warning. Never raises for an
    unreachable server: the service runs without its cache."""
    bounded = BoundedRedisFactorialCache(redis, ttl_seconds=ttl_seconds, max_bytes=max_bytes)
    if await shares_server(redis, state):
        log.debug("the factorial cache shares the state server: kept within %d bytes", max_bytes)
        return bounded
    try:
        memories = await primaries_info(redis, "memory")
    except REDIS_FAILURES as error:
        log.warning(
            "factorial cache server (REDIS_CACHE_URL) unreachable at start (%s): the service "
            "bounds the cache itself to FACT_CACHE_MAX_BYTES",
            type(error).__name__,
        )
        return bounded
    # The server that evicts least decides: the first that does not, else any.
    memory: Mapping[str, Any] = min(memories, key=_evicts, default={})
    max_memory, policy = int(memory.get("maxmemory", 0)), str(memory.get("maxmemory_policy"))
    if _evicts(memory):
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


def _evicts(memory: Mapping[str, Any]) -> bool:
    """Whether INFO memory says the server evicts by itself: maxmemory set, a policy other
    than noeviction."""
    return bool(int(memory.get("maxmemory", 0))) and memory.get("maxmemory_policy") != "noeviction"
