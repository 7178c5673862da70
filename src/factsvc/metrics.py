"""Prometheus metrics, correct across worker processes (prometheus_client's multiprocess mode
when PROMETHEUS_MULTIPROC_DIR is set, as `factsvc serve` does)."""

from __future__ import annotations

import os
from bisect import bisect_left
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
    from factsvc.executors import BoundedExecutor

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
            "Jobs queued, running or waiting for a place in a CPU pool (bcrypt, factorial).",
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
        self.local_cache_bytes = Gauge(
            "factsvc_fact_local_cache_bytes",
            "Size of the in-process factorial cache (the largest over live workers).",
            multiprocess_mode="livemax",
            registry=owner,
        )
        self.loop_lag = Histogram(
            "factsvc_event_loop_lag_seconds",
            "How late the event loop woke a periodic probe.",
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self._pending_answered: dict[tuple[str, str, int], int] = {}
        self._pending_lookups: dict[str, int] = {}
        self._pending_latencies: dict[str, PendingObservations] = {}

    def count_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Called for every answered request. Counts are kept in the process and added to the
        shared metrics by `flush()`: each increment of a multiprocess metric takes a lock, a
        getpid() and an mmap write, and the histogram's observe alone measured 2 % of the
        instructions of answering a cached /fact."""
        key = (route, method, status)
        self._pending_answered[key] = self._pending_answered.get(key, 0) + 1
        latencies = self._pending_latencies.get(route)
        if latencies is None:
            latencies = self._pending_latencies[route] = PendingObservations()
        latencies.observe(seconds)

    def count_lookup(self, source: str) -> None:
        self._pending_lookups[source] = self._pending_lookups.get(source, 0) + 1

    def flush(self) -> None:
        """Add what was counted since the last flush to the shared metrics; called twice a
        second, before each scrape and at stop."""
        answered, self._pending_answered = self._pending_answered, {}
        for (route, method, status), count in answered.items():
            self.requests.labels(route, method, str(status)).inc(count)
        lookups, self._pending_lookups = self._pending_lookups, {}
        for source, count in lookups.items():
            self.fact_lookups.labels(source).inc(count)
        latencies, self._pending_latencies = self._pending_latencies, {}
        for route, pending in latencies.items():
            pending.add_to(self.request_seconds.labels(route))

    def sample(self, pools: Mapping[str, BoundedExecutor], local_cache_bytes: int = 0) -> None:
        """Record how deep each CPU queue is now and how full the local cache is; called
        periodically, not per job, since updating a gauge on every job measurably delayed the
        loop under a burst of logins."""
        for name, pool in pools.items():
            self.queue_depth.labels(name).set(pool.pending + pool.waiting)
        self.local_cache_bytes.set(local_cache_bytes)

    def exposition(self) -> bytes:
        self.flush()
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class PendingObservations:
    """Observations for one histogram, counted per bucket until they are added to it at once.

    prometheus_client offers no public way to add many observations in one call, so `add_to`
    increments the histogram's own bucket and sum values; tests/unit/test_metrics.py checks
    that the result is exactly what observing each value would give."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # Prometheus buckets are "less than or equal": bisect_left finds the first bound >= value.
        self.counts[bisect_left(LATENCY_BUCKETS, value)] += 1
        self.total += value

    def add_to(self, histogram: Histogram) -> None:
        for bucket, count in zip(histogram._buckets, self.counts, strict=True):
            if count:
                bucket.inc(count)
        histogram._sum.inc(self.total)


def forget_process(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they still happened)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
