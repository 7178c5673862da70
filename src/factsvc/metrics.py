"""Prometheus metrics, correct across worker processes (prometheus_client's multiprocess mode
when PROMETHEUS_MULTIPROC_DIR is set, as `factsvc serve` does)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from factsvc.compute import BoundedExecutor

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self.registry = CollectorRegistry()
        # In multiprocess mode each process writes its own files and a scrape reads them all;
        # metrics must then not be registered with the registry that exposes them.
        owner = None if self.multiprocess else self.registry
        self.requests = Counter(
            "factsvc_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=owner,
        )
        self.request_seconds = Histogram(
            "factsvc_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self.fact_lookups = Counter(
            "factsvc_fact_lookups",
            "Where /fact found its value: memory, redis or computed.",
            ["source"],
            registry=owner,
        )
        self.queue_depth = Gauge(
            "factsvc_cpu_queue_depth",
            "Jobs queued or running in a CPU pool (bcrypt, factorial).",
            ["pool"],
            multiprocess_mode="livesum",
            registry=owner,
        )
        self.rejections = Counter(
            "factsvc_cpu_rejections",
            "Jobs refused because a CPU pool's queue was full.",
            ["pool"],
            registry=owner,
        )
        self.loop_lag = Histogram(
            "factsvc_event_loop_lag_seconds",
            "How late the event loop woke a periodic probe.",
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self._answered: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[str, Histogram] = {}
        self._lookups: dict[str, Counter] = {}

    def count_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Called for every answered request: labelled children are looked up once and kept,
        since `labels()` costs more than the increment itself."""
        key = (route, method, status)
        answered = self._answered.get(key)
        if answered is None:
            answered = self._answered[key] = self.requests.labels(route, method, str(status))
        answered.inc()
        timer = self._timers.get(route)
        if timer is None:
            timer = self._timers[route] = self.request_seconds.labels(route)
        timer.observe(seconds)

    def count_lookup(self, source: str) -> None:
        lookups = self._lookups.get(source)
        if lookups is None:
            lookups = self._lookups[source] = self.fact_lookups.labels(source)
        lookups.inc()

    def sample(self, pools: Mapping[str, BoundedExecutor]) -> None:
        """Record how deep each CPU queue is now; called periodically, not per job, since
        updating a gauge on every job measurably delayed the loop under a burst of logins."""
        for name, pool in pools.items():
            self.queue_depth.labels(name).set(pool.pending)

    def exposition(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def forget_process(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they still happened)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
