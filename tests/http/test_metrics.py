"""GET /metrics: the Prometheus text format, with the counts the service promises."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import AsyncHTTPClient

from tests.support.api import Api

pytestmark = pytest.mark.gen_test


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_scrape_counts_requests_cache_tiers_and_pools(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    for _ in range(3):
        await api.get("/fact?n=12")
    await api.get("/fact?n=oops")
    await api.register()
    response = await http_client.fetch(f"{base_url}/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    values = samples(response.body.decode())

    def value(name: str, **labels: str) -> float:
        return values.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("factsvc_http_requests_total", route="/fact", method="GET", status="200") == 3
    assert value("factsvc_http_requests_total", route="/fact", method="GET", status="400") == 1
    assert value("factsvc_http_request_duration_seconds_count", route="/fact") == 4
    assert value("factsvc_fact_lookups_total", source="computed") == 1
    assert value("factsvc_fact_lookups_total", source="memory") == 2
    families = {family.name for family in text_string_to_metric_families(response.body.decode())}
    assert {"factsvc_cpu_queue_depth", "factsvc_event_loop_lag_seconds"} <= families


async def test_requests_are_counted_by_route_name_and_unknown_paths_as_unmatched(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    assert (await api.get("/healthz")).status == 200
    assert (await api.get("/account/info")).status == 401
    assert (await api.get("/no/such/path")).status == 404
    assert (await api.get("/no/other/path")).status == 404
    response = await http_client.fetch(f"{base_url}/metrics")
    values = samples(response.body.decode())
    answered = {
        dict(labels)["route"]: (dict(labels)["status"], count)
        for (name, labels), count in values.items()
        if name == "factsvc_http_requests_total"
    }
    assert answered == {
        "/healthz": ("200", 1),
        "/account/info": ("401", 1),
        "unmatched": ("404", 2),
    }
