"""Rate-limit counters in Redis: a TTL set once, at the first hit of a window, then INCR."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from factsvc.errors import DependencyUnavailable

PREFIX = "factsvc:limit:v1:"
# DECR only an existing counter: DECR on a missing key would create one with no TTL.
REFUND = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end"


class RedisCounterStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                # SET NX creates the counter with its TTL only at the first hit, so later hits
                # never extend the window (EXPIRE NX would need Redis 7). INCR keeps the TTL.
                pipe.set(PREFIX + key, 0, ex=window_seconds, nx=True)
                pipe.incr(PREFIX + key)
                pipe.ttl(PREFIX + key)
                _, count, ttl = await pipe.execute()
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error
        return int(count), max(int(ttl), 0)

    async def refund(self, key: str) -> None:
        try:
            await self._redis.eval(REFUND, 1, PREFIX + key)
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(PREFIX + key)
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error
