"""The shared factorial cache in Redis: one namespaced key per n, each with a TTL, each value
stored with a checksum so that a damaged value is never served."""

from __future__ import annotations

import hashlib
import time

from factsvc.errors import CacheUnavailable
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_errors import RedisErrors

# Every key of the bounded cache (redis_bounded_cache.py) carries this hash tag: in a Redis
# Cluster they all live in one slot, where its scripts, which touch a value and its index entry
# together, can run.
HASH_TAG = hash_tag("factsvc:fact")
KEY_PREFIX = HASH_TAG + ":v1:"
# The plain cache's keys carry no tag: each command touches one key, and on a cache server that
# is a Redis Cluster the values spread over every master. v2: v1 named the unbounded cache's
# values before the tag.
PLAIN_KEY_PREFIX = "factsvc:fact:v2:"


class CacheFailures:
    """What both cache adapters do when Redis fails: `errors` turns a Redis failure into
    CacheUnavailable, and `refuse_while_failing()` then raises CacheUnavailable without asking
    Redis for `retry_after_failure` seconds, so that a dead cache costs no timeout per
    request."""

    def __init__(self, retry_after_failure: float) -> None:
        self._retry_after_failure = retry_after_failure
        self._skip_until = 0.0
        self.errors = RedisErrors(self._failed)

    def refuse_while_failing(self) -> None:
        if time.monotonic() < self._skip_until:
            raise CacheUnavailable("skipped after a recent failure")

    def _failed(self, error: BaseException) -> CacheUnavailable:
        self._skip_until = time.monotonic() + self._retry_after_failure
        return CacheUnavailable(type(error).__name__)


class RedisFactorialCache:
    """The FactorialCache port (services/factorial.py) on a Redis of its own that bounds its
    memory itself (maxmemory with an eviction policy): plain GET and SET with a TTL. Raises
    CacheUnavailable when Redis fails, and then for `retry_after_failure` seconds without
    asking Redis at all."""

    def __init__(
        self, redis: RedisClient, *, ttl_seconds: int, retry_after_failure: float = 1.0
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._failures = CacheFailures(retry_after_failure)

    async def get(self, n: int) -> str | None:
        self._failures.refuse_while_failing()
        with self._failures.errors:
            value = await self._redis.get(PLAIN_KEY_PREFIX + str(n))
        return None if value is None else unwrap(value)

    async def set(self, n: int, decimal: str) -> None:
        self._failures.refuse_while_failing()
        with self._failures.errors:
            await self._redis.set(PLAIN_KEY_PREFIX + str(n), wrap(decimal), ex=self._ttl)


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=8).hexdigest().encode("ascii")


def wrap(decimal: str) -> bytes:
    """The stored form of a decimal: its checksum, a colon, the ASCII digits."""
    payload = decimal.encode("ascii")
    return _checksum(payload) + b":" + payload


def unwrap(stored: bytes | str) -> str | None:
    """The stored decimal, or None (a miss) when the checksum does not match."""
    if isinstance(stored, str):
        stored = stored.encode()
    checksum, _, payload = stored.partition(b":")
    if checksum != _checksum(payload):
        return None
    return payload.decode("ascii", errors="replace")
