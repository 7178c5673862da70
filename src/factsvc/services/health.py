"""Readiness: ask every dependency at once, each within a short timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from factsvc.errors import DependencyUnavailable

Probe = Callable[[], Awaitable[object]]


class ReadinessService:
    def __init__(self, probes: Mapping[str, Probe], *, timeout_seconds: float) -> None:
        self._probes = dict(probes)
        self._timeout = timeout_seconds
        self._stopping = False

    def mark_stopping(self) -> None:
        """From now on report not ready, so that load balancers stop sending traffic."""
        self._stopping = True

    async def check(self) -> dict[str, str]:
        """The state of each dependency; DependencyUnavailable unless every one answered."""
        names = list(self._probes)
        results = await asyncio.gather(
            *(self._probe(self._probes[name]) for name in names), return_exceptions=True
        )
        states = {
            name: "ok" if result is None else "unavailable"
            for name, result in zip(names, results, strict=True)
        }
        if self._stopping:
            states["process"] = "stopping"
        if self._stopping or "unavailable" in states.values():
            # The first failure's reason goes to the log with the 503 (not to the client).
            failures = (r for r in results if isinstance(r, Exception))
            raise DependencyUnavailable(states) from next(failures, None)
        return states

    async def _probe(self, probe: Probe) -> None:
        await asyncio.wait_for(probe(), self._timeout)
