"""Rate-limit counters in Redis: a TTL set once, at the first hit of a window, then INCR."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from factsvc.errors import DependencyUnavailable

PREFIX = "factsvc:limit:v1:"


class RedisCounterStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def count(self, key: str) -> tuple[int, int]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(PREFIX + key)
                pipe.ttl(PREFIX + key)
                raw, ttl = await pipe.execute()
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error
        return (int(raw) if raw is not None else 0), max(int(ttl), 0)

    async def hit(self, key: str, window_seconds: int) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                # SET NX creates the counter with its TTL only at the first hit, so later hits
                # never extend the window (EXPIRE NX would need Redis 7). INCR keeps the TTL.
                pipe.set(PREFIX + key, 0, ex=window_seconds, nx=True)
                pipe.incr(PREFIX + key)
                await pipe.execute()
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(PREFIX + key)
        except (RedisError, OSError) as error:
            raise DependencyUnavailable({"redis": "unavailable"}) from error
