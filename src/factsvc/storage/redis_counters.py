"""Rate-limit counters in Redis: a TTL set once, at the first hit of a window, then INCR; and
the leases of guesses being judged, in sorted sets scored by when each lapses (or, once lapsed,
is forgotten)."""

from __future__ import annotations

from factsvc.services.limits import Reservation
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_errors import redis_errors

# A limit's three keys carry its key as their hash tag, so that on a Redis Cluster they share
# the slot where the scripts run. v2: the tag; v1's windows are forgotten.
PREFIX = "factsvc:limit:v2:"
LEASES_PREFIX = "factsvc:limit-leases:v2:"
LAPSED_PREFIX = "factsvc:limit-lapsed:v2:"

# KEYS: the window's count; ARGV: window_seconds. SET NX creates the counter with its TTL only
# at the first hit, so later hits never extend the window (EXPIRE NX would need Redis 7); INCR
# keeps the TTL. Returns {count, seconds left}.
_HIT = """
redis.call('set', KEYS[1], 0, 'ex', ARGV[1], 'nx')
local count = redis.call('incr', KEYS[1])
return {count, redis.call('ttl', KEYS[1])}
"""

# KEYS: the window's count of failures, the leases held, the leases that lapsed unsettled.
# ARGV: max_failures, lease, lease_ms, window_seconds. Redis's own clock (TIME) dates the
# leases, so that instances whose clocks differ agree on when one lapses. A lapsed lease counts
# nothing (it only held a place) but is remembered for one more lease_ms, so that its guess's
# late end still counts if it failed; the leases' key outlives its last lease by as long, so
# that a late end finds it there too.
# Returns {0, 0} admitted, {1, 0} busy, {2, seconds_left} locked.
_RESERVE = """
local clock = redis.call('time')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lease_ms = tonumber(ARGV[3])
redis.call('zremrangebyscore', KEYS[3], '-inf', now)
local lapsed = redis.call('zrangebyscore', KEYS[2], '-inf', now)
if #lapsed > 0 then
  redis.call('zremrangebyscore', KEYS[2], '-inf', now)
  for _, name in ipairs(lapsed) do
    redis.call('zadd', KEYS[3], now + lease_ms, name)
  end
  redis.call('pexpire', KEYS[3], lease_ms)
end
local failures = tonumber(redis.call('get', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if failures >= limit then
  return {2, redis.call('ttl', KEYS[1])}
end
if failures + redis.call('zcard', KEYS[2]) >= limit then
  return {1, 0}
end
redis.call('zadd', KEYS[2], now + lease_ms, ARGV[2])
redis.call('pexpire', KEYS[2], 2 * lease_ms)
return {0, 0}
"""

# KEYS as _RESERVE's. ARGV: lease, failed (1 or 0), window_seconds. A lease held or lapsed
# ends here, once: it counts one failure if it failed; ending it again (a retried settle whose
# first reply was lost) or ending one never held counts nothing.
_SETTLE = """
local ended = redis.call('zrem', KEYS[2], ARGV[1]) + redis.call('zrem', KEYS[3], ARGV[1])
if ended > 0 and ARGV[2] == '1' then
  redis.call('set', KEYS[1], 0, 'ex', ARGV[3], 'nx')
  redis.call('incr', KEYS[1])
end
return 0
"""

_OUTCOMES: tuple[Reservation, ...] = (Reservation("admitted"), Reservation("busy"))


class RedisCounterStore:
    """The CounterStore port (services/limits.py) on Redis; raises DependencyUnavailable when
    Redis fails."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._hit = redis.register_script(_HIT)
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        with redis_errors:
            count, ttl = await self._hit(keys=[_count(key)], args=[window_seconds])
        return int(count), max(int(ttl), 0)

    async def reserve(
        self, key: str, lease: str, *, max_failures: int, lease_seconds: int, window_seconds: int
    ) -> Reservation:
        with redis_errors:
            outcome, seconds_left = await self._reserve(
                keys=_keys(key),
                args=[max_failures, lease, 1000 * lease_seconds, window_seconds],
            )
        if int(outcome) == 2:
            return Reservation("locked", max(int(seconds_left), 0))
        return _OUTCOMES[int(outcome)]

    async def settle(self, key: str, lease: str, *, failed: bool, window_seconds: int) -> None:
        with redis_errors:
            await self._settle(
                keys=_keys(key),
                args=[lease, 1 if failed else 0, window_seconds],
            )

    async def reset(self, key: str) -> None:
        with redis_errors:
            await self._redis.delete(_count(key))


def _count(key: str) -> str:
    """The window's count of `key`: KEYS[1] of every script."""
    return PREFIX + hash_tag(key)


def _keys(key: str) -> list[str]:
    """The KEYS of _RESERVE and _SETTLE: the count, the leases held, the leases lapsed."""
    tag = hash_tag(key)
    return [PREFIX + tag, LEASES_PREFIX + tag, LAPSED_PREFIX + tag]
