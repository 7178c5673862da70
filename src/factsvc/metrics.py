"""Prometheus metrics, correct across worker processes (prometheus_client's multiprocess mode
when PROMETHEUS_MULTIPROC_DIR is set, as `factsvc serve` does)."""

from __future__ import annotations

import math
import os
from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
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
# Latencies a route keeps before they are observed without waiting for `flush()`: bounds the
# memory of a process that is never flushed (32 kB a route), far above what a worker answers
# in one half-second flush interval.
KEPT_LATENCIES_PER_ROUTE = 4096


class Metrics:
    """The service's metrics, and the counts each process keeps until `flush()` adds them.

    `requests` (counter: route, method, status), `request_seconds` (histogram of seconds:
    route), `fact_lookups` (counter: source), `fact_cache_unavailable` (counter),
    `queue_depth` (gauge of jobs: pool), `rejections` (counter: pool), `local_cache_bytes`
    (gauge of bytes), `requests_in_flight` (gauge of requests), `loop_lag` (histogram of
    seconds) and `log_lines_dropped` (counter of lines: sink) are prometheus_client metrics.
    In multiprocess mode they write this process's files and `exposition()` reads every
    process's; otherwise they live in `registry`."""

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
        self.fact_cache_unavailable = Counter(
            "factsvc_fact_cache_unavailable",
            "Reads and writes of the shared factorial cache that failed or were skipped because "
            "its Redis could not be reached (the service computed instead).",
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
        self.requests_in_flight = Gauge(
            "factsvc_http_requests_in_flight",
            "Requests started and not yet finished (what a graceful stop waits for).",
            multiprocess_mode="livesum",
            registry=owner,
        )
        self.loop_lag = Histogram(
            "factsvc_event_loop_lag_seconds",
            "How late the event loop woke a periodic probe.",
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self.log_lines_dropped = Counter(
            "factsvc_log_lines_dropped",
            "Log lines lost because a log destination fell LOG_QUEUE_MAX_LINES behind or a "
            "write to it failed, by sink (console, file).",
            ["sink"],
            registry=owner,
        )
        self._kept_answered: dict[tuple[str, str, int], int] = {}
        self._kept_lookups: dict[str, int] = {}
        self._kept_seconds: dict[str, array[float]] = {}

    def count_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request: `route` is the matched route's name, `status` the HTTP
        status, `seconds` the time taken to answer it.

        The count and the latency are kept in the process and added to the shared metrics by
        `flush()`: each update of a multiprocess metric takes a lock, a getpid() and an mmap
        write, and observing the latency here added 3 % to the instructions of answering a
        cached /fact. Latencies are kept as raw doubles: keeping each one's float object
        alive until the flush measured 0.3 % more."""
        key = (route, method, status)
        self._kept_answered[key] = self._kept_answered.get(key, 0) + 1
        kept = self._kept_seconds.get(route)
        if kept is None:
            kept = self._kept_seconds[route] = array("d")
        kept.append(seconds)
        if len(kept) >= KEPT_LATENCIES_PER_ROUTE:
            self._observe(route, self._kept_seconds.pop(route))

    def count_lookup(self, source: str) -> None:
        """Count where /fact found a value: "memory", "redis" or "computed"; kept like the
        request counts until `flush()`."""
        self._kept_lookups[source] = self._kept_lookups.get(source, 0) + 1

    def flush(self) -> None:
        """Add what was counted since the last flush to the shared metrics; called twice a
        second, before each scrape and at stop. Counts and latencies are added at once
        (observe_all)."""
        answered, self._kept_answered = self._kept_answered, {}
        for (route, method, status), count in answered.items():
            self.requests.labels(route, method, str(status)).inc(count)
        lookups, self._kept_lookups = self._kept_lookups, {}
        for source, count in lookups.items():
            self.fact_lookups.labels(source).inc(count)
        latencies, self._kept_seconds = self._kept_seconds, {}
        for route, seconds in latencies.items():
            self._observe(route, seconds)

    def _observe(self, route: str, seconds: array[float]) -> None:
        observe_all(self.request_seconds.labels(route), seconds)

    def sample(
        self,
        pools: Mapping[str, BoundedExecutor],
        local_cache_bytes: int = 0,
        requests_in_flight: int = 0,
    ) -> None:
        """Record how deep each CPU queue is now (jobs queued, running or waiting, by pool
        name), how full the local cache is (bytes) and how many requests are in flight; called
        periodically, not per job, since updating a gauge on every job measurably delayed the
        loop under a burst of logins."""
        for name, pool in pools.items():
            self.queue_depth.labels(name).set(pool.pending + pool.waiting)
        self.local_cache_bytes.set(local_cache_bytes)
        self.requests_in_flight.set(requests_in_flight)

    def exposition(self) -> bytes:
        """Flush, then return every metric in Prometheus's text exposition format (UTF-8
        bytes; prometheus_client's `CONTENT_TYPE_LATEST`), summed over the worker processes in
        multiprocess mode."""
        self.flush()
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def forget_process(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they still happened)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def observe_all(histogram: Histogram, seconds: Sequence[float]) -> None:
    """What `histogram.observe(value)` for each of `seconds` records, in one addition per
    bucket and one to the sum: in multiprocess mode each addition takes a lock and writes the
    metric file, and observing each latency alone cost a cached /fact 2 % of its time.

    prometheus_client has no public call for many observations, so this adds to the
    histogram's own values (`_sum`, `_buckets`, `_upper_bounds`, as Histogram.observe does,
    prometheus_client 0.20 to 0.26); tests/unit/test_metrics.py compares the two."""
    if not seconds:
        return
    bounds = histogram._upper_bounds  # private: see above
    counts = [0] * len(bounds)
    for value in seconds:
        counts[bisect_left(bounds, value)] += 1  # the first bound >= value, as observe()
    histogram._sum.inc(math.fsum(seconds))
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)
