"""Sampling the CPU queues and counting refusals into the metrics."""

from __future__ import annotations

import asyncio
import random
import threading
from array import array
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from factsvc.errors import Overloaded
from factsvc.executors import BoundedExecutor
from factsvc.metrics import KEPT_LATENCIES_PER_ROUTE, LATENCY_BUCKETS, Metrics, observe_all

pytestmark = pytest.mark.gen_test


def sample_value(metrics: Metrics, name: str, pool: str) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == {"pool": pool}:
                return sample.value
    raise AssertionError(f"no {name} sample for {pool}")


async def test_queue_depth_is_sampled_and_refusals_counted() -> None:
    metrics = Metrics()
    release = threading.Event()
    with ThreadPoolExecutor(1) as threads:
        runner = BoundedExecutor(
            threads, max_pending=2, what="bcrypt", on_reject=metrics.rejections.labels("bcrypt").inc
        )
        held = [asyncio.ensure_future(runner.run(release.wait, 5)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await runner.run(sum, [1])
        metrics.sample({"bcrypt": runner})
        assert sample_value(metrics, "factsvc_cpu_queue_depth", "bcrypt") == 2
        assert sample_value(metrics, "factsvc_cpu_rejections_total", "bcrypt") == 1
        release.set()
        await asyncio.gather(*held)
    metrics.sample({"bcrypt": runner})
    assert sample_value(metrics, "factsvc_cpu_queue_depth", "bcrypt") == 0


def exposed(metrics: Metrics, prefix: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
        if sample.name.startswith(prefix)
    }


async def test_counts_kept_in_the_process_expose_exactly_what_direct_observation_would() -> None:
    # Bounds themselves, values between and beyond them, zero: each must land in its bucket.
    durations = [0.0, 0.001, 0.0011, 0.004, 0.025, 0.3, 2.5, 7.0, 0.001, 5.0]
    kept, direct = Metrics(), Metrics()
    for seconds in durations:
        kept.count_request("/fact", "GET", 200, seconds)
        direct.requests.labels("/fact", "GET", "200").inc()
        direct.request_seconds.labels("/fact").observe(seconds)
    kept.count_request("/login", "POST", 401, 0.2)
    direct.requests.labels("/login", "POST", "401").inc()
    direct.request_seconds.labels("/login").observe(0.2)
    kept.count_lookup("memory")
    kept.count_lookup("memory")
    direct.fact_lookups.labels("memory").inc(2)

    prefix = "factsvc_"
    expected = {
        key: value
        for key, value in exposed(direct, prefix).items()
        if not key[0].endswith("_created")
    }
    assert expected[("factsvc_http_request_duration_seconds_count", (("route", "/fact"),))] == 10
    first = {k: v for k, v in exposed(kept, prefix).items() if not k[0].endswith("_created")}
    assert first == pytest.approx(expected)
    # A second scrape adds nothing that was already added.
    second = {k: v for k, v in exposed(kept, prefix).items() if not k[0].endswith("_created")}
    assert second == pytest.approx(expected)


async def test_the_local_cache_size_is_sampled() -> None:
    metrics = Metrics()
    metrics.sample({}, local_cache_bytes=123_456)
    values = exposed(metrics, "factsvc_fact_local_cache_bytes")
    assert values == {("factsvc_fact_local_cache_bytes", ()): 123_456}


async def test_latencies_kept_up_to_the_limit_are_observed_before_any_flush() -> None:
    metrics = Metrics()

    def observed() -> float | None:
        return metrics.registry.get_sample_value(
            "factsvc_http_request_duration_seconds_count", {"route": "/fact"}
        )

    for _ in range(KEPT_LATENCIES_PER_ROUTE - 1):
        metrics.count_request("/fact", "GET", 200, 0.002)
    assert observed() is None
    metrics.count_request("/fact", "GET", 200, 0.002)
    assert observed() == KEPT_LATENCIES_PER_ROUTE
    metrics.flush()
    assert observed() == KEPT_LATENCIES_PER_ROUTE


def _histogram_samples(registry: CollectorRegistry) -> dict[str, float]:
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_observe_all_records_what_observing_each_records(seed: int) -> None:
    rng = random.Random(seed)
    # Every bound exactly, values between and beyond them, and none at all for some buckets.
    values = [*LATENCY_BUCKETS, *(rng.expovariate(20) for _ in range(2000)), 0.0, 99.0]
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    each = Histogram("latency", "", buckets=LATENCY_BUCKETS, registry=one_by_one)
    together = Histogram("latency", "", buckets=LATENCY_BUCKETS, registry=at_once)
    for value in values:
        each.observe(value)
    observe_all(together, array("d", values))
    observed, added = _histogram_samples(one_by_one), _histogram_samples(at_once)
    assert observed.keys() == added.keys()
    for name, value in observed.items():
        assert added[name] == pytest.approx(value, rel=1e-12), name
