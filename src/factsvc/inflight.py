"""Counts requests being handled, so that a graceful stop can wait for them to finish."""

from __future__ import annotations

import asyncio
import contextlib


class InFlightRequests:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    def started(self) -> None:
        self._count += 1
        self._idle.clear()

    def finished(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self, grace_seconds: float) -> bool:
        """True when every request finished within `grace_seconds`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        return self._count == 0
