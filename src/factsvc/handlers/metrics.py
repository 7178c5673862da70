"""GET /metrics: Prometheus text exposition, summed over every worker process."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.http_caching import NO_STORE
from factsvc.metrics import Metrics


class MetricsHandler(BaseHandler):
    """Answers GET with every worker's metrics in Prometheus's text format, never cached."""

    def initialize(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", NO_STORE)
        await self.send_body(self._metrics.exposition())
