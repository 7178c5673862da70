"""GET /healthz (the process) and GET /readyz (the process and its dependencies)."""

from __future__ import annotations

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.http_caching import NO_STORE
from factsvc.services.health import ReadinessService


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        # A state, true when said: no cache may answer a probe with an earlier one.
        self.set_header("Cache-Control", NO_STORE)
        await self.write_envelope({"status": "ok"})


class ReadinessHandler(BaseHandler):
    def initialize(self, readiness: ReadinessService) -> None:
        self._readiness = readiness

    async def get(self) -> None:
        self.set_header("Cache-Control", NO_STORE)
        states = await self._readiness.check()
        await self.write_envelope({"status": "ok", "dependencies": states})
