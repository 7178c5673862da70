"""Idempotency records in Redis: one JSON string per key, each with a TTL, and per-scope counts."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from factsvc.errors import RateLimited
from factsvc.services.idempotency import Quota
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_errors import redis_errors

# A record of a key `group:name` lies under the hash tag {group}, as does its group's scope
# (a quota's scope is its keys' group), so that on a Redis Cluster the scripts that touch both
# run in one slot. v2: the tags; v1's records are forgotten.
PREFIX = "factsvc:idempotency:v2:"
# A scope's records: a sorted set of their keys, each scored with the time (ms, Redis's clock)
# its record ends, updated in the same script as the record so that the two never disagree.
SCOPE_PREFIX = "factsvc:idempotency-scope:v2:"
# ARGV[1] limit, ARGV[2] ttl in seconds, on KEYS[2]'s set and KEYS[1]'s record; gives 0 when
# KEYS[1] counts until then, else the milliseconds until the scope's first record ends.
_COUNT = """
local function count(limit, ttl)
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if limit > 0 and redis.call('ZCARD', KEYS[2]) >= limit then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return math.max(first[2] - now, 1)
  end
  redis.call('ZADD', KEYS[2], now + ttl * 1000, KEYS[1])
  if redis.call('PTTL', KEYS[2]) < ttl * 1000 then redis.call('PEXPIRE', KEYS[2], ttl * 1000) end
  return 0
end
"""
# Compare-and-set: only the request that claimed a key settles it, so a request whose lease ran
# out can never overwrite the record of the one that claimed the key after it.
_SETTLE = (
    _COUNT
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  if #KEYS == 2 then redis.call('ZREM', KEYS[2], KEYS[1]) end
  return redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if #KEYS == 2 then count(0, tonumber(ARGV[3])) end
return 1
"""
)
# SET NX can answer the record it found only from Redis 7 (NX with GET): a script does it on
# the 6.2 the embedded server may be. A refusal is a number, a record held a string.
_CLAIM = (
    _COUNT
    + """
local held = redis.call('GET', KEYS[1])
if held then return held end
if #KEYS == 2 then
  local wait = count(tonumber(ARGV[3]), tonumber(ARGV[2]))
  if wait > 0 then return wait end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""
)

# KEYS[1]: a scope's set. Its members are the keys of its records, all under the scope's hash
# tag, so in the slot of KEYS[1], where a Redis Cluster node lets a script reach them.
_FORGET = """
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', key)
end
return redis.call('DEL', KEYS[1])
"""


def _text(record: Mapping[str, Any]) -> str:
    # One spelling per record: settle compares the text it was claimed with.
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _record(raw: bytes | str | None) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _record_key(key: str) -> str:
    group, colon, name = key.partition(":")
    return PREFIX + hash_tag(group) + ":" + name if colon else PREFIX + key


def _keys(key: str, quota: Quota | None) -> list[str]:
    """The record's key, and its scope's when under a quota: KEYS of _CLAIM and _SETTLE."""
    if quota is None:
        return [_record_key(key)]
    if key.partition(":")[0] != quota.scope:
        raise ValueError("a key under a quota must be in its scope's group")
    return [_record_key(key), SCOPE_PREFIX + hash_tag(quota.scope)]


class RedisIdempotencyStore:
    """The IdempotencyStore port (services/idempotency.py) on Redis; raises
    DependencyUnavailable when Redis fails. An unreadable record reads as {} (held, by no one's
    body), never as absent: a key is not given away because its record was damaged."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._settle = redis.register_script(_SETTLE)
        self._forget = redis.register_script(_FORGET)

    async def claim(
        self,
        key: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> Mapping[str, Any] | None:
        limit = 0 if quota is None else quota.limit
        with redis_errors:
            held = await self._claim(
                keys=_keys(key, quota), args=[_text(record), max(ttl_seconds, 1), limit]
            )
        if isinstance(held, int):
            raise RateLimited(math.ceil(held / 1000))
        return _record(held)

    async def settle(
        self,
        key: str,
        expected: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> None:
        replacement = "" if record is None else _text(record)
        with redis_errors:
            await self._settle(
                keys=_keys(key, quota),
                args=[_text(expected), replacement, max(ttl_seconds, 1)],
            )

    async def load(self, key: str) -> Mapping[str, Any] | None:
        with redis_errors:
            raw = await self._redis.get(_record_key(key))
        return _record(raw)

    async def forget_scope(self, scope: str) -> None:
        with redis_errors:
            await self._forget(keys=[SCOPE_PREFIX + hash_tag(scope)], args=[])
