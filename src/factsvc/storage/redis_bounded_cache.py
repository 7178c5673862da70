"""The factorial cache on a Redis it shares with state: the service itself keeps the cache
within a number of bytes, evicting the least recently used values, and touches no other key."""

from __future__ import annotations

from factsvc.storage.redis_cache import HASH_TAG, KEY_PREFIX, CacheFailures, unwrap, wrap
from factsvc.storage.redis_client import RedisClient

# The index, all under the values' hash tag: the sorted set ranks each cached n by its last
# use (a tick of CLOCK_KEY, so that instances with unsynchronised clocks agree), the hash
# holds each entry's size, and the counter their sum.
INDEX_KEY = HASH_TAG + ":lru"
SIZES_KEY = HASH_TAG + ":sizes"
BYTES_KEY = HASH_TAG + ":bytes"
CLOCK_KEY = HASH_TAG + ":clock"
# Bytes an entry costs beyond what MEMORY USAGE reports for its value's key. Measured with
# 10 000 entries: 196 in the sorted set and the hash, 275 with the value's line in the table of
# expiry times and the hash tables' growth (INFO memory's used_memory).
INDEX_BYTES_PER_ENTRY = 300

# KEYS: the value's key, INDEX_KEY, SIZES_KEY, BYTES_KEY, CLOCK_KEY; ARGV: n.
# The value, marked as used now; an entry whose value expired (its TTL) leaves the index.
READ = """
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('ZADD', KEYS[2], 'XX', redis.call('INCR', KEYS[5]), ARGV[1])
  return value
end
local size = redis.call('HGET', KEYS[3], ARGV[1])
if size then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('DECRBY', KEYS[4], size)
end
return false
"""

# KEYS: as READ's; ARGV: n, the stored value, its TTL in seconds, the bound in bytes, the
# values' key prefix, INDEX_BYTES_PER_ENTRY. Stores the value, then evicts the least recently
# used entries until the sum of sizes is within the bound; 1 if it was kept, 0 if it alone
# exceeds the bound (then nothing else is evicted). Evicted values' keys are built from the
# prefix: on a Cluster they share the hash tag, and so the slot, of the keys it declares.
WRITE = """
local n, max_bytes, prefix = ARGV[1], tonumber(ARGV[4]), ARGV[5]
local function forget(member)
  local size = redis.call('HGET', KEYS[3], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('UNLINK', prefix .. member)
  if size then
    return redis.call('DECRBY', KEYS[4], size)
  end
  return tonumber(redis.call('GET', KEYS[4]) or '0')
end
if redis.call('ZREM', KEYS[2], n) == 1 then
  forget(n)
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
local size = redis.call('MEMORY', 'USAGE', KEYS[1]) + tonumber(ARGV[6])
if size > max_bytes then
  redis.call('UNLINK', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[3], n, size)
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[5]), n)
local total = redis.call('INCRBY', KEYS[4], size)
while total > max_bytes do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  if #oldest == 0 then
    -- The counter outgrew the index (keys deleted by hand): nothing is left to count.
    redis.call('SET', KEYS[4], 0)
    break
  end
  total = forget(oldest[1])
end
if redis.call('ZSCORE', KEYS[2], n) then
  return 1
end
return 0
"""


class BoundedRedisFactorialCache:
    """The FactorialCache port (services/factorial.py) on a Redis shared with state. Each value
    has its key, a TTL and an entry in an index; the sum of the entries' sizes (MEMORY USAGE
    of the value's key plus INDEX_BYTES_PER_ENTRY) stays within `max_bytes`, checked and
    enforced by one Lua script per write, so atomically across every instance and process. A
    value larger than the whole bound is not kept, and evicts nothing. Raises CacheUnavailable
    when Redis fails, and then for `retry_after_failure` seconds without asking Redis at all."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        ttl_seconds: int,
        max_bytes: int,
        retry_after_failure: float = 1.0,
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes
        self._failures = CacheFailures(retry_after_failure)
        # redis-py sends EVALSHA and loads the script again when Redis has forgotten it.
        self._read = redis.register_script(READ)
        self._write = redis.register_script(WRITE)

    async def get(self, n: int) -> str | None:
        self._failures.refuse_while_failing()
        with self._failures.errors:
            value = await self._read(keys=_keys(n), args=[n])
        return None if value is None else unwrap(value)

    async def set(self, n: int, decimal: str) -> None:
        self._failures.refuse_while_failing()
        arguments = (n, wrap(decimal), self._ttl, self._max_bytes, KEY_PREFIX)
        with self._failures.errors:
            await self._write(keys=_keys(n), args=[*arguments, INDEX_BYTES_PER_ENTRY])

    async def used_bytes(self) -> int:
        """The sum of the cached entries' sizes, in bytes, as the index counts them."""
        self._failures.refuse_while_failing()
        with self._failures.errors:
            return int(await self._redis.get(BYTES_KEY) or 0)


def _keys(n: int) -> list[str]:
    return [KEY_PREFIX + str(n), INDEX_KEY, SIZES_KEY, BYTES_KEY, CLOCK_KEY]
