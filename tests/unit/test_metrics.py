"""Sampling the CPU queues and counting refusals into the metrics."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from factsvc.compute import BoundedExecutor
from factsvc.errors import Overloaded
from factsvc.metrics import Metrics

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
            runner.ensure_capacity()
        metrics.sample({"bcrypt": runner})
        assert sample_value(metrics, "factsvc_cpu_queue_depth", "bcrypt") == 2
        assert sample_value(metrics, "factsvc_cpu_rejections_total", "bcrypt") == 1
        release.set()
        await asyncio.gather(*held)
    metrics.sample({"bcrypt": runner})
    assert sample_value(metrics, "factsvc_cpu_queue_depth", "bcrypt") == 0
