"""GET /healthz (the process) and GET /readyz (the process and its dependencies)."""

from __future__ import annotations

from factsvc.handlers.base import BaseHandler
from factsvc.services.health import ReadinessService


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        await self.write_envelope({"status": "ok"})


class ReadinessHandler(BaseHandler):
    def initialize(self, readiness: ReadinessService) -> None:
        self._readiness = readiness

    async def get(self) -> None:
        states = await self._readiness.check()
        await self.write_envelope({"status": "ok", "dependencies": states})
