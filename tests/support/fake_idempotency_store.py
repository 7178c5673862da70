"""An in-memory stand-in for the idempotency store, whose records expire on a clock as in Redis."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from factsvc.errors import DependencyUnavailable, RateLimited
from factsvc.services.idempotency import Quota


class FakeIdempotencyStore:
    """The IdempotencyStore port in memory, with Redis's expiry on `clock` (seconds);
    tests/contract proves it against RedisIdempotencyStore. `claims` counts claim calls;
    `scopes` maps each quota's scope to its keys and when each one's record ends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.expires_at: dict[str, float] = {}
        self.scopes: dict[str, dict[str, float]] = {}
        self.available = True
        self.claims = 0
        self._clock = clock

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"redis": "unavailable"})

    def _held(self, key: str) -> dict[str, Any] | None:
        if key in self.records and self._clock() >= self.expires_at[key]:
            del self.records[key], self.expires_at[key]
        return self.records.get(key)

    def _put(self, key: str, record: Mapping[str, Any], ttl_seconds: int) -> None:
        self.records[key] = _copy(record)
        self.expires_at[key] = self._clock() + max(ttl_seconds, 1)

    def _count(self, key: str, quota: Quota, ttl_seconds: int) -> None:
        _in_group(key, quota)
        now = self._clock()
        counted = {k: end for k, end in self.scopes.get(quota.scope, {}).items() if end > now}
        if key not in counted and len(counted) >= quota.limit:
            raise RateLimited(max(math.ceil(min(counted.values()) - now), 1))
        counted[key] = now + max(ttl_seconds, 1)
        self.scopes[quota.scope] = counted

    async def claim(
        self,
        key: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> Mapping[str, Any] | None:
        self._check()
        self.claims += 1
        held = self._held(key)
        if held is not None:
            return _copy(held)
        if quota is not None:
            self._count(key, quota, ttl_seconds)
        self._put(key, record, ttl_seconds)
        return None

    async def settle(
        self,
        key: str,
        expected: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> None:
        self._check()
        if quota is not None:
            _in_group(key, quota)
        if self._held(key) != _copy(expected):
            return
        if record is None:
            del self.records[key], self.expires_at[key]
            if quota is not None:
                self.scopes.get(quota.scope, {}).pop(key, None)
        else:
            self._put(key, record, ttl_seconds)
            if quota is not None:
                self.scopes.setdefault(quota.scope, {})[key] = self.expires_at[key]

    async def load(self, key: str) -> Mapping[str, Any] | None:
        self._check()
        held = self._held(key)
        return None if held is None else _copy(held)

    async def forget_scope(self, scope: str) -> None:
        self._check()
        for key in self.scopes.pop(scope, {}):
            self.records.pop(key, None)
            self.expires_at.pop(key, None)


def _in_group(key: str, quota: Quota) -> None:
    if key.partition(":")[0] != quota.scope:
        raise ValueError("a key under a quota must be in its scope's group")


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy shaped as Redis gives it back, through JSON."""
    copy = json.loads(json.dumps(record))
    assert isinstance(copy, dict)
    return copy
