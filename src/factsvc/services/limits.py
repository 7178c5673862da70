"""Fixed-window rate limits over a shared counter store."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Protocol

from factsvc.errors import RateLimited


class CounterStore(Protocol):
    """Counters that expire `window_seconds` after their first hit; may raise
    DependencyUnavailable."""

    async def count(self, key: str) -> tuple[int, int]:
        """The count and its seconds left (0, 0 when absent)."""
        ...

    async def hit(self, key: str, window_seconds: int) -> None: ...

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

    async def check(self, *limits: tuple[Limit, str]) -> None:
        """RateLimited when any limit is used up; Retry-After is the longest wait."""
        counts = await asyncio.gather(*(self._store.count(limit.key(s)) for limit, s in limits))
        waits = [
            max(ttl, 1)
            for (limit, _), (count, ttl) in zip(limits, counts, strict=True)
            if count >= limit.max_hits
        ]
        if waits:
            raise RateLimited(max(waits))

    async def hit(self, *limits: tuple[Limit, str]) -> None:
        await asyncio.gather(
            *(self._store.hit(limit.key(s), limit.window_seconds) for limit, s in limits)
        )

    async def reset(self, limit: Limit, subject: str) -> None:
        await self._store.reset(limit.key(subject))
