"""Rate-limit counters in Redis: a TTL set once, at the first hit of a window, then INCR; and
the leases of guesses being judged, in a sorted set scored by when each lapses."""

from __future__ import annotations

from redis.asyncio import Redis

from factsvc.services.limits import Reservation
from factsvc.storage.redis_errors import redis_errors

PREFIX = "factsvc:limit:v1:"
LEASES_PREFIX = "factsvc:limit-leases:v1:"

# KEYS: the window's count of failures, the leases. ARGV: max_failures, lease, lease_ms,
# window_seconds. Redis's own clock (TIME) dates the leases, so that instances whose clocks
# differ agree on when one lapses. The leases' key outlives its last lease by a window, so
# that one which lapsed unreported is still found and counted.
# Returns {0, 0} admitted, {1, 0} busy, {2, seconds_left} locked.
_RESERVE = """
local clock = redis.call('time')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lapsed = redis.call('zremrangebyscore', KEYS[2], '-inf', now)
if lapsed > 0 then
  redis.call('set', KEYS[1], 0, 'ex', ARGV[4], 'nx')
  redis.call('incrby', KEYS[1], lapsed)
end
local failures = tonumber(redis.call('get', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if failures >= limit then
  return {2, redis.call('ttl', KEYS[1])}
end
if failures + redis.call('zcard', KEYS[2]) >= limit then
  return {1, 0}
end
redis.call('zadd', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
redis.call('pexpire', KEYS[2], tonumber(ARGV[3]) + 1000 * tonumber(ARGV[4]))
return {0, 0}
"""

# KEYS as _RESERVE's. ARGV: lease, failed (1 or 0), window_seconds. Only a lease still held
# counts: one that lapsed was counted when it was found.
_SETTLE = """
if redis.call('zrem', KEYS[2], ARGV[1]) == 1 and ARGV[2] == '1' then
  redis.call('set', KEYS[1], 0, 'ex', ARGV[3], 'nx')
  redis.call('incr', KEYS[1])
end
return 0
"""

_OUTCOMES: tuple[Reservation, ...] = (Reservation("admitted"), Reservation("busy"))


class RedisCounterStore:
    """The CounterStore port (services/limits.py) on Redis; raises DependencyUnavailable when
    Redis fails."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

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

    async def reserve(
        self, key: str, lease: str, *, max_failures: int, lease_seconds: int, window_seconds: int
    ) -> Reservation:
        with redis_errors:
            outcome, seconds_left = await self._reserve(
                keys=[PREFIX + key, LEASES_PREFIX + key],
                args=[max_failures, lease, 1000 * lease_seconds, window_seconds],
            )
        if int(outcome) == 2:
            return Reservation("locked", max(int(seconds_left), 0))
        return _OUTCOMES[int(outcome)]

    async def settle(self, key: str, lease: str, *, failed: bool, window_seconds: int) -> None:
        with redis_errors:
            await self._settle(
                keys=[PREFIX + key, LEASES_PREFIX + key],
                args=[lease, 1 if failed else 0, window_seconds],
            )

    async def reset(self, key: str) -> None:
        with redis_errors:
            await self._redis.delete(PREFIX + key)
