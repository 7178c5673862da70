"""Big factorials must not stall the event loop that serves everyone else."""

from __future__ import annotations

import asyncio
import time

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.conftest import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

BIG_N = 300_000


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, fact_max_n=BIG_N))


async def max_loop_lag_while(work: asyncio.Future[object], interval: float = 0.001) -> float:
    """The longest time the loop was late to wake a 1 ms sleeper while `work` ran."""
    worst = 0.0
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(interval)
        worst = max(worst, time.perf_counter() - started - interval)
    return worst


async def test_an_uncached_big_factorial_does_not_stall_the_loop(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    # Start the process pool's worker first, so that only the computation itself is measured.
    warm = await http_client.fetch(f"{base_url}/fact?n={BIG_N - 1}", decompress_response=False)
    assert warm.code == 200
    request = asyncio.ensure_future(
        http_client.fetch(
            f"{base_url}/fact?n={BIG_N}",
            headers={"Accept-Encoding": "gzip"},
            decompress_response=False,
        )
    )
    lag = await max_loop_lag_while(request)
    response = request.result()
    assert response.code == 200
    assert response.request_time is not None
    assert response.request_time > 0.05, "the request must last long enough to probe"
    assert lag < 0.02, f"the event loop stalled for {lag * 1000:.1f} ms"
