"""Waiting, in a test of a served process, until its /metrics shows a number of requests in
flight."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.support.polling import eventually


def requests_in_flight(metrics_url: str) -> float:
    """factsvc_http_requests_in_flight as /metrics at `metrics_url` shows it (sampled twice a
    second)."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "factsvc_http_requests_in_flight":
            return sum(sample.value for sample in family.samples)
    raise AssertionError("no factsvc_http_requests_in_flight in /metrics")


def wait_for_in_flight(metrics_url: str, count: int, timeout: float = 10.0) -> None:
    """Return once /metrics at `metrics_url` shows `count` requests in flight; AssertionError
    if it has not within `timeout` seconds."""
    eventually(
        lambda: requests_in_flight(metrics_url),
        timeout,
        f"{count} request(s) in flight",
        pause=0.1,
        accept=lambda seen: seen == count,
    )
