"""Idempotency records in Redis: one JSON string per key, each with a TTL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from factsvc.storage.redis_errors import redis_errors

PREFIX = "factsvc:idempotency:v1:"
# Compare-and-set: only the request that claimed a key settles it, so a request whose lease ran
# out can never overwrite the record of the one that claimed the key after it.
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
# SET NX can answer the record it found only from Redis 7 (NX with GET): a script does it on
# the 6.2 the embedded server may be.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
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


class RedisIdempotencyStore:
    """The IdempotencyStore port (services/idempotency.py) on Redis; raises
    DependencyUnavailable when Redis fails. An unreadable record reads as {} (held, by no one's
    body), never as absent: a key is not given away because its record was damaged."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._settle = redis.register_script(_SETTLE)

    async def claim(
        self, key: str, record: Mapping[str, Any], ttl_seconds: int
    ) -> Mapping[str, Any] | None:
        with redis_errors:
            held = await self._claim(keys=[PREFIX + key], args=[_text(record), max(ttl_seconds, 1)])
        return _record(held)

    async def settle(
        self,
        key: str,
        expected: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        ttl_seconds: int,
    ) -> None:
        replacement = "" if record is None else _text(record)
        with redis_errors:
            await self._settle(
                keys=[PREFIX + key], args=[_text(expected), replacement, max(ttl_seconds, 1)]
            )

    async def load(self, key: str) -> Mapping[str, Any] | None:
        with redis_errors:
            raw = await self._redis.get(PREFIX + key)
        return _record(raw)
