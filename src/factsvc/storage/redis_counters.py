"""Rate-limit counters in Redis: a TTL set once, at the first hit of a window, then INCR."""

from __future__ import annotations

from redis.asyncio import Redis

from factsvc.storage.redis_errors import redis_errors

PREFIX = "factsvc:limit:v1:"
# DECR only an existing counter: DECR on a missing key would create one with no TTL.
REFUND = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end"


class RedisCounterStore:
    """The CounterStore port (services/limits.py) on Redis; raises DependencyUnavailable when
    Redis fails."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        with redis_errors:
            async with self._redis.pipeline(transaction=True) as pipe:
                # SET NX creates the counter with its TTL only at the first hit, so later hits
                # never extend the window (EXPIRE NX would need Redis 7). INCR keeps the TTL.
                pipe.set(PREFIX + key, 0, ex=window_seconds, nx=True)
                pipe.incr(PREFIX + key)
                pipe.ttl(PREFIX + key)
                _, count, ttl = await pipe.execute()
        return int(count), max(int(ttl), 0)

    async def refund(self, key: str) -> None:
        with redis_errors:
            await self._redis.eval(REFUND, 1, PREFIX + key)

    async def reset(self, key: str) -> None:
        with redis_errors:
            await self._redis.delete(PREFIX + key)
