"""Big factorials and password hashes must not stall the event loop that serves everyone else.

Each test proves it twice: structurally, by recording where the CPU-heavy work ran (a loaded
machine cannot fool that), and end to end, by the loop's worst lag while the work runs, bounded
far above what scheduling noise gives and below what the work on the loop would give.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import bcrypt
import gmpy2
import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.factorial_computer import INLINE_MAX_N
from factsvc.services.factorial_math import factorial_decimal, is_plausible_factorial
from tests.support.api import Api
from tests.support.servers import with_settings

# A cost-14 hash took ~10 s beside a busy core: the hashing threads run at a lower priority.
pytestmark = pytest.mark.gen_test(timeout=100)

# FACT_MAX_N's largest allowed value: ~0.6 s of GMP work for n! and its decimal conversion.
BIG_N = 1_000_000
# Cost 14: ~0.9 s a hash.
ROUNDS = 14
HASHING_THREADS = 2
# On the loop n! stalled it 1.0 s and a hash 0.9 s or more; off it the worst seen was 0.27 s.
MAX_LAG = 0.5


@pytest.fixture
def rounds(settings: Settings) -> int:
    """bcrypt's cost: the suite's, cheap, unless a test sets its own."""
    return settings.bcrypt_rounds


@pytest.fixture
def app_settings(settings: Settings, rounds: int) -> Settings:
    # The queue's wait is raised so that no login of the burst is refused on a loaded machine,
    # where the hashing threads, at a lower priority, took ~10 s a cost-14 hash.
    return with_settings(
        settings,
        fact_max_n=BIG_N,
        bcrypt_rounds=rounds,
        bcrypt_threads=HASHING_THREADS,
        bcrypt_max_wait_seconds=60.0,
    )


@pytest.fixture
def http_client(http_server: HTTPServer) -> Iterator[AsyncHTTPClient]:
    # Not Tornado's default of 20 s a request: on a loaded machine, a login that waited for
    # cost-14 hashes queued before its own took longer.
    client = AsyncHTTPClient(force_instance=True, defaults={"request_timeout": 50.0})
    yield client
    client.close()


@pytest.fixture
def frozen_heap(app: tornado.web.Application) -> Iterator[None]:
    """As the server does after its start: what exists now (here, the whole test session's heap
    and the app) stays out of full collections, whose pauses would otherwise be measured too."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


class ThreadLog:
    """Wraps functions of a module to record, per call, the thread it ran on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.calls: list[tuple[str, int]] = []

    def spy(self, module: object, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, threading.get_ident()))
            return original(*args, **kwargs)

        self._monkeypatch.setattr(module, name, recorded)

    def threads_of(self, name: str) -> list[int]:
        return [thread for called, thread in self.calls if called == name]


@pytest.fixture
def thread_log(monkeypatch: pytest.MonkeyPatch) -> ThreadLog:
    return ThreadLog(monkeypatch)


async def loop_lags_while(work: asyncio.Future[Any], interval: float = 0.001) -> list[float]:
    """How late the loop woke a 1 ms sleeper, each time, while `work` ran."""
    lags = []
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - started - interval)
    return lags


@pytest.mark.usefixtures("frozen_heap")
async def test_an_uncached_big_factorial_does_not_stall_the_loop(
    http_client: AsyncHTTPClient,
    base_url: str,
    services: Services,
    thread_log: ThreadLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.get_ident()
    # Start the process pool's worker first (with the smallest n it computes), so that only the
    # computation itself is measured.
    warm = await http_client.fetch(f"{base_url}/fact?n={INLINE_MAX_N + 1}")
    assert warm.code == 200
    # What the factorial pool is given and returns; GMP and gzip calls in this process (the
    # pool's spawned workers import their own, unwrapped gmpy2).
    pool = services.pools["factorial"]
    jobs: list[tuple[Callable[..., Any], tuple[object, ...], object]] = []
    pooled_run = pool.run

    async def recorded_run(function: Callable[..., Any], *args: object) -> Any:
        result = await pooled_run(function, *args)
        jobs.append((function, args, result))
        return result

    monkeypatch.setattr(pool, "run", recorded_run)
    thread_log.spy(gmpy2, "fac")
    thread_log.spy(gzip, "compress")
    request = asyncio.ensure_future(
        http_client.fetch(
            f"{base_url}/fact?n={BIG_N}",
            headers={"Accept-Encoding": "gzip"},
            decompress_response=False,
        )
    )
    lag = max(await loop_lags_while(request), default=0.0)
    response = request.result()
    assert response.code == 200
    assert response.headers.get("Content-Encoding") == "gzip"
    # n! and its decimal digits were made in the process pool, not in this process at all.
    pooled = [(function, args) for function, args, _ in jobs]
    assert pooled == [(factorial_decimal, (BIG_N,))], "n! was not computed in the factorial pool"
    decimal = jobs[0][2]
    assert isinstance(decimal, str), "the pool returns n! in decimal, converted there"
    assert is_plausible_factorial(BIG_N, decimal)
    assert thread_log.threads_of("fac") == [], "n! was computed in the server's process"
    # The answer's 5.5 MB were compressed off the loop (the JSON encoding, ~3 ms, stays on it).
    compressions = thread_log.threads_of("compress")
    assert compressions, "the answer was compressed"
    assert loop_thread not in compressions, "the answer was compressed on the event loop"
    assert response.request_time is not None
    assert response.request_time > 0.05, "the request must last long enough to probe"
    assert lag < MAX_LAG, f"the event loop stalled for {lag * 1000:.1f} ms"


@pytest.mark.usefixtures("frozen_heap")
@pytest.mark.parametrize("rounds", [ROUNDS])
async def test_a_burst_of_logins_does_not_stall_the_loop(
    http_client: AsyncHTTPClient, base_url: str, thread_log: ThreadLog
) -> None:
    loop_thread = threading.get_ident()
    thread_log.spy(bcrypt, "hashpw")
    thread_log.spy(bcrypt, "checkpw")
    # The registration opens the drivers' connections before the burst.
    assert (await Api(http_client, base_url).register()).status == 201
    # One login more than hashing threads, so that one waits in the queue.
    burst = HASHING_THREADS + 1
    logins = asyncio.gather(*(Api(http_client, base_url).login() for _ in range(burst)))
    lags = await loop_lags_while(logins)
    assert [reply.status for reply in logins.result()] == [200] * burst
    # Every hash was seen (the registration's, then one check per login), none on the loop.
    assert len(thread_log.threads_of("hashpw")) == 1
    assert len(thread_log.threads_of("checkpw")) == burst
    hashed_on = {thread for _, thread in thread_log.calls}
    assert loop_thread not in hashed_on, "a password was hashed on the event loop"
    assert len(lags) > 100, "the logins must last long enough to probe"
    worst = max(lags)
    assert worst < MAX_LAG, f"the event loop stalled for {worst * 1000:.1f} ms"
