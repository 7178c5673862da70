"""Fixed-window rate limits over a shared counter store.

An attempt is counted before it is judged, so concurrent attempts cannot slip past a limit
between a check and a count; an attempt that turns out to be allowed (a successful login) is
refunded afterwards."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Protocol

from factsvc.errors import RateLimited
from factsvc.services.audit import security_event


class CounterStore(Protocol):
    """Counters that expire `window_seconds` after their first hit, never later; may raise
    DependencyUnavailable."""

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one more; the new count and its seconds left."""
        ...

    async def refund(self, key: str) -> None:
        """Count one fewer, if the counter still exists."""
        ...

    async def reset(self, key: str) -> None: ...


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int

    def key(self, subject: str) -> str:
        # Hashed: subjects are client-supplied strings; keys stay short and inert.
        return f"{self.name}:{hashlib.sha256(subject.encode('utf-8', 'replace')).hexdigest()}"


class RateLimiter:
    def __init__(self, store: CounterStore) -> None:
        self._store = store

    async def attempt(self, *limits: tuple[Limit, str]) -> None:
        """Count an attempt against every limit; RateLimited when any is exceeded, with the
        longest wait as Retry-After."""
        results = await asyncio.gather(
            *(self._store.hit(limit.key(s), limit.window_seconds) for limit, s in limits)
        )
        waits = []
        for (limit, subject), (count, ttl) in zip(limits, results, strict=True):
            if count > limit.max_hits:
                security_event("rate_limited", limit=limit.name, subject=subject)
                waits.append(max(ttl, 1))
        if waits:
            raise RateLimited(max(waits))

    async def refund(self, limit: Limit, subject: str) -> None:
        await self._store.refund(limit.key(subject))

    async def reset(self, limit: Limit, subject: str) -> None:
        await self._store.reset(limit.key(subject))


@dataclass(frozen=True)
class AttemptLimits:
    """Fixed-window limits on attempts: failed logins per account and per client, and
    registrations per client."""

    per_account: Limit
    per_client: Limit
    registrations_per_client: Limit
