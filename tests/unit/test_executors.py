"""The bounded executor: refuses at once when full, or lets jobs wait in turn for a place."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from factsvc.errors import Overloaded
from factsvc.executors import BoundedExecutor

pytestmark = pytest.mark.gen_test


async def test_a_full_executor_refuses_at_once_and_accepts_again_when_free() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(2) as threads:
        runner = BoundedExecutor(threads, max_pending=2, what="test")
        held = [asyncio.ensure_future(runner.run(release.wait, 5)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await runner.run(sum, [1])
        with pytest.raises(Overloaded):
            async with runner.admitted():
                raise AssertionError("admitted to a full executor")
        assert runner.rejected == 2
        release.set()
        assert await asyncio.gather(*held) == [True, True]
        assert await runner.run(sum, [1, 2]) == 3
        assert runner.pending == 0


async def test_jobs_beyond_the_limit_wait_in_turn_and_time_out() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(1) as threads:
        runner = BoundedExecutor(threads, max_pending=1, what="test", max_wait_seconds=0.3)
        held = asyncio.ensure_future(runner.run(release.wait, 5))
        await asyncio.sleep(0.01)
        order: list[str] = []

        async def job(name: str) -> None:
            await runner.run(order.append, name)

        waiting = [asyncio.ensure_future(job(name)) for name in ("first", "second")]
        await asyncio.sleep(0.01)
        assert runner.waiting == 2
        release.set()
        await asyncio.gather(held, *waiting)
        assert order == ["first", "second"]
        assert (runner.pending, runner.waiting, runner.rejected) == (0, 0, 0)

        release.clear()
        held = asyncio.ensure_future(runner.run(release.wait, 5))
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        with pytest.raises(Overloaded):
            await runner.run(sum, [1])
        assert asyncio.get_running_loop().time() - started >= 0.29
        assert runner.rejected == 1
        release.set()
        await held
        assert await runner.run(sum, [1, 2]) == 3
        assert runner.pending == 0


async def test_a_cancelled_waiter_gives_up_its_turn() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(1) as threads:
        runner = BoundedExecutor(threads, max_pending=1, what="test", max_wait_seconds=5)
        held = asyncio.ensure_future(runner.run(release.wait, 5))
        await asyncio.sleep(0.01)
        cancelled = asyncio.ensure_future(runner.run(sum, [1]))
        kept = asyncio.ensure_future(runner.run(sum, [2]))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        release.set()
        assert await kept == 2
        await held
        assert cancelled.cancelled()
        assert runner.pending == 0


async def test_an_admitted_use_case_holds_one_place_for_all_its_jobs() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(2) as threads:
        runner = BoundedExecutor(threads, max_pending=1, what="test", max_wait_seconds=0.2)
        async with runner.admitted():
            assert runner.pending == 1
            # Its jobs run in the place it holds: no second place, no wait, no refusal.
            assert await runner.run(sum, [1, 2]) == 3
            assert await runner.run(sum, [3]) == 3
            assert runner.pending == 1
            # Another task waits for the place, and is refused when none frees in time, even
            # one started inside the block (it inherits the context, not the place).
            with pytest.raises(Overloaded):
                await asyncio.ensure_future(runner.run(release.wait, 5))
        assert (runner.pending, runner.rejected) == (0, 1)
        release.set()
