"""In-memory stand-ins for the session and counter stores, whose keys expire on a clock as
Redis's do."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from factsvc.errors import DependencyUnavailable
from factsvc.services.limits import Reservation
from factsvc.services.sessions import Fence, user_tag


class FakeSessionStore:
    """The SessionStore port in memory, with Redis's expiry on `clock` (seconds);
    tests/contract proves it against RedisSessionStore. `ttls` holds the TTL last given to
    each record. The per-user index (`by_user`) never expires here, and lists ended sessions
    until a save, sessions_of or delete_others of the user prunes it, as in Redis. `fences`
    holds each user's fence and when it ends, `changes` when each user's change marker ends.
    Every method runs without awaiting, so each is atomic as the Lua scripts are in Redis."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.ttls: dict[str, int] = {}
        self.expires_at: dict[str, float] = {}
        self.by_user: dict[str, set[str]] = {}
        self.fences: dict[str, tuple[int, float]] = {}
        self.changes: dict[str, float] = {}
        self.available = True
        self._clock = clock

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"redis": "unavailable"})

    def _live(self, key: str) -> bool:
        if key in self.records and self._clock() >= self.expires_at[key]:
            self._forget(key)
        return key in self.records

    def _forget(self, key: str) -> None:
        self.records.pop(key, None)
        self.ttls.pop(key, None)
        self.expires_at.pop(key, None)

    def _set_ttl(self, key: str, ttl_seconds: int) -> None:
        # Redis is given at least one second: a record is never saved already expired.
        self.ttls[key] = max(ttl_seconds, 1)
        self.expires_at[key] = self._clock() + self.ttls[key]

    async def save(
        self,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        index_ttl: int,
        credential_version: int = 0,
        *,
        max_sessions: int = 0,
    ) -> Fence | None:
        self._check()
        if key.rpartition(":")[0] != user_tag(user_id):
            raise ValueError("a session's key must carry its user's tag")
        now = self._clock()
        fence, fence_ends = self.fences.get(user_id, (0, now))
        if now < fence_ends and fence > credential_version:
            return Fence(fence, now < self.changes.get(user_id, now))
        others = sorted(self._pruned(user_id) - {key}, key=self.expires_at.__getitem__)
        if max_sessions > 0:
            for ended in others[: max(len(others) - max_sessions + 1, 0)]:
                self._forget(ended)
                self.by_user[user_id].discard(ended)
        self.records[key] = _through_json(record)
        self._set_ttl(key, ttl_seconds)
        self.by_user.setdefault(user_id, set()).add(key)
        return None

    async def retire_credentials(
        self, user_id: str, version: int, ttl_seconds: int, change_ms: int
    ) -> None:
        self._check()
        now = self._clock()
        fence, fence_ends = self.fences.get(user_id, (0, now))
        self.fences[user_id] = (
            max(fence if now < fence_ends else 0, version),
            now + max(ttl_seconds, 1),
        )
        self.changes[user_id] = now + max(change_ms, 1) / 1000
        for key in self.by_user.pop(user_id, set()):
            self._forget(key)

    async def load(self, key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        self._check()
        if not self._live(key):
            return None
        self._set_ttl(key, idle_seconds)
        return _through_json(self.records[key])

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        self._check()
        if self._live(key):
            self.records[key] = _through_json(record)

    async def replace_if(
        self, key: str, expected: Mapping[str, Any], record: Mapping[str, Any]
    ) -> bool:
        self._check()
        if not self._live(key) or self.records[key] != _through_json(expected):
            return False
        self.records[key] = _through_json(record)
        return True

    async def expire(self, key: str, ttl_seconds: int) -> None:
        self._check()
        if self._live(key):
            self._set_ttl(key, ttl_seconds)

    async def delete(self, key: str, user_id: str) -> bool:
        self._check()
        live = self._live(key)
        self._forget(key)
        self.by_user.get(user_id, set()).discard(key)
        return live

    async def sessions_of(self, user_id: str) -> dict[str, Mapping[str, Any]]:
        self._check()
        return {key: _through_json(self.records[key]) for key in self._pruned(user_id)}

    async def delete_others(self, user_id: str, keep: str) -> int:
        self._check()
        ended = self._pruned(user_id) - {keep}
        for key in ended:
            self._forget(key)
        self.by_user[user_id] -= ended
        return len(ended)

    def _pruned(self, user_id: str) -> set[str]:
        """The user's index without its ended sessions: the live sessions' keys."""
        index = self.by_user.setdefault(user_id, set())
        index.intersection_update([key for key in index if self._live(key)])
        return set(index)


def _through_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy shaped as Redis gives it back: tuples become lists, and what JSON cannot
    hold fails here as it fails there."""
    copy = json.loads(json.dumps(record))
    assert isinstance(copy, dict)
    return copy


def _seconds_left(deadline: float, now: float) -> int:
    # Redis's TTL: the time left rounded to the nearest second.
    return int(deadline - now + 0.5)


class FakeCounterStore:
    """The CounterStore port in memory, with fixed windows and leases on `clock` (seconds);
    tests/contract proves it against RedisCounterStore. `counts` holds each live window's
    count, `leases` each key's leases held with when they lapse, `lapsed` the leases that
    lapsed unsettled with when they are forgotten. Every method runs without awaiting, so each
    is atomic as the Lua scripts are in Redis."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: dict[str, int] = {}
        self.window_ends: dict[str, float] = {}
        self.leases: dict[str, dict[str, float]] = {}
        self.leases_end: dict[str, float] = {}
        self.lapsed: dict[str, dict[str, float]] = {}
        self.lapsed_end: dict[str, float] = {}
        self.available = True
        self._clock = clock

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"redis": "unavailable"})

    def _live(self, key: str) -> bool:
        if key in self.counts and self._clock() >= self.window_ends[key]:
            del self.counts[key], self.window_ends[key]
        return key in self.counts

    def _add(self, key: str, amount: int, window_seconds: int) -> int:
        if not self._live(key):
            self.counts[key] = 0
            self.window_ends[key] = self._clock() + window_seconds
        self.counts[key] += amount
        return self.counts[key]

    def _held(self, key: str) -> dict[str, float]:
        if key in self.leases and self._clock() >= self.leases_end[key]:
            del self.leases[key], self.leases_end[key]
        return self.leases.get(key, {})

    def _lapsed(self, key: str) -> dict[str, float]:
        if key in self.lapsed and self._clock() >= self.lapsed_end[key]:
            del self.lapsed[key], self.lapsed_end[key]
        return self.lapsed.get(key, {})

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        self._check()
        count = self._add(key, 1, window_seconds)
        return count, max(_seconds_left(self.window_ends[key], self._clock()), 0)

    async def reserve(
        self, key: str, lease: str, *, max_failures: int, lease_seconds: int, window_seconds: int
    ) -> Reservation:
        self._check()
        now = self._clock()
        held = self._held(key)
        remembered = self._lapsed(key)
        for name in [name for name, forget in remembered.items() if forget <= now]:
            del remembered[name]
        lapsed = [name for name, ends in held.items() if ends <= now]
        for name in lapsed:
            # A lapsed lease counts nothing; it is remembered so that its late end still counts.
            del held[name]
            self.lapsed.setdefault(key, remembered)[name] = now + lease_seconds
            self.lapsed_end[key] = now + lease_seconds
        failures = self.counts[key] if self._live(key) else 0
        if failures >= max_failures:
            return Reservation("locked", max(_seconds_left(self.window_ends[key], now), 0))
        if failures + len(held) >= max_failures:
            return Reservation("busy")
        self.leases.setdefault(key, held)[lease] = now + lease_seconds
        self.leases_end[key] = now + 2 * lease_seconds
        return Reservation("admitted")

    async def settle(self, key: str, lease: str, *, failed: bool, window_seconds: int) -> None:
        self._check()
        held = self._held(key).pop(lease, None) is not None
        lapsed = self._lapsed(key).pop(lease, None) is not None
        if (held or lapsed) and failed:
            self._add(key, 1, window_seconds)

    async def reset(self, key: str) -> None:
        self._check()
        self.counts.pop(key, None)
        self.window_ends.pop(key, None)
