"""Big factorials must not stall the event loop that serves everyone else."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=100)

# ~0.3 s of GMP work for n!: on the loop it would stall it three times the bound below.
BIG_N = 600_000


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    # Cost 12: ~270 ms a hash at best; one on the loop would stall it far beyond the bounds below.
    return app_factory(with_settings(settings, fact_max_n=BIG_N, bcrypt_rounds=12))


async def loop_lags_while(work: asyncio.Future[Any], interval: float = 0.001) -> list[float]:
    """How late the loop woke a 1 ms sleeper, each time, while `work` ran."""
    lags = []
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - started - interval)
    return lags


async def max_loop_lag_while(work: asyncio.Future[Any]) -> float:
    return max(await loop_lags_while(work), default=0.0)


async def test_an_uncached_big_factorial_does_not_stall_the_loop(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    # As in the test below: the test session's heap stays out of full collections.
    gc.collect()
    gc.freeze()
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
    # Off the loop the worst lag stays below ~25 ms even beside a busy core (the client, the
    # cache write and the drivers share the 2 cores); on it, n! holds the loop ~300 ms or more.
    assert lag < 0.1, f"the event loop stalled for {lag * 1000:.1f} ms"
    gc.unfreeze()


async def test_a_burst_of_logins_does_not_stall_the_loop(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    # As the server does after its start: what exists now (here, the whole test session's
    # heap) stays out of full collections, whose pauses would otherwise be measured too.
    gc.collect()
    gc.freeze()
    api = Api(http_client, base_url)
    assert (await api.register()).status == 201
    # Warm up: the first login opens the client's and the drivers' connections.
    assert (await api.login()).status == 200
    logins = asyncio.gather(*(Api(http_client, base_url).login() for _ in range(8)))
    lags = await loop_lags_while(logins)
    assert [reply.status for reply in logins.result()] == [200] * 8
    assert len(lags) > 100, "the logins must last long enough to probe"
    typical, worst = statistics.median(lags), max(lags)
    assert typical < 0.005, f"the loop was typically {typical * 1000:.1f} ms late"
    # Waits of up to ~35 ms come from the drivers' threads and the test client on the same 2
    # cores when the other core is busy; a cost-12 hash on the loop would hold it ~270 ms.
    assert worst < 0.1, f"the event loop stalled for {worst * 1000:.1f} ms"
    gc.unfreeze()
