"""The shared factorial cache in Redis: one namespaced key per n, each with a TTL, each value
stored with a checksum so that a damaged value is never served."""

from __future__ import annotations

import hashlib
import time

from redis.asyncio import Redis

from factsvc.errors import CacheUnavailable
from factsvc.storage.redis_errors import RedisErrors

KEY_PREFIX = "factsvc:fact:v1:"


class RedisFactorialCache:
    """The FactorialCache port (services/factorial.py) on Redis. Raises CacheUnavailable when
    Redis fails, and then for `retry_after_failure` seconds without asking Redis at all."""

    def __init__(self, redis: Redis, *, ttl_seconds: int, retry_after_failure: float = 1.0) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._retry_after_failure = retry_after_failure
        self._skip_until = 0.0
        self._errors = RedisErrors(self._failed)

    async def get(self, n: int) -> str | None:
        self._refuse_while_failing()
        with self._errors:
            value = await self._redis.get(KEY_PREFIX + str(n))
        return (
            None if value is None else _unwrap(value.encode() if isinstance(value, str) else value)
        )

    async def set(self, n: int, decimal: str) -> None:
        self._refuse_while_failing()
        with self._errors:
            await self._redis.set(KEY_PREFIX + str(n), _wrap(decimal.encode("ascii")), ex=self._ttl)

    def _refuse_while_failing(self) -> None:
        # After a failure, skip Redis briefly so that a dead cache costs no timeout per request.
        if time.monotonic() < self._skip_until:
            raise CacheUnavailable("skipped after a recent failure")

    def _failed(self, error: BaseException) -> CacheUnavailable:
        self._skip_until = time.monotonic() + self._retry_after_failure
        return CacheUnavailable(type(error).__name__)


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=8).hexdigest().encode("ascii")


def _wrap(payload: bytes) -> bytes:
    return _checksum(payload) + b":" + payload


def _unwrap(stored: bytes) -> str | None:
    """The stored decimal, or None (a miss) when the checksum does not match."""
    checksum, _, payload = stored.partition(b":")
    if checksum != _checksum(payload):
        return None
    return payload.decode("ascii", errors="replace")
