"""In-memory stand-ins for the factorial service's ports."""

from __future__ import annotations

import asyncio

from factsvc.errors import CacheUnavailable
from factsvc.services.factorial_math import factorial_decimal


class FakeCache:
    def __init__(self) -> None:
        self.values: dict[int, str] = {}
        self.available = True
        self.gets = 0

    async def get(self, n: int) -> str | None:
        self.gets += 1
        if not self.available:
            raise CacheUnavailable("down")
        return self.values.get(n)

    async def set(self, n: int, decimal: str) -> None:
        if not self.available:
            raise CacheUnavailable("down")
        self.values[n] = decimal


class CountingComputer:
    """Computes for real, counts calls, and can be held until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = asyncio.Event()
        self.release.set()

    async def compute(self, n: int) -> str:
        self.calls.append(n)
        await self.release.wait()
        return factorial_decimal(n)
