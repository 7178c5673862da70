"""Background: jobs run after the answer, failures logged by label only, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from factsvc.services.background import Background

pytestmark = pytest.mark.gen_test(timeout=10)


async def test_a_spawned_job_runs_after_spawn_returns() -> None:
    background = Background()
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    background.spawn(job, what="test job")
    assert not ran.is_set()
    await asyncio.wait_for(ran.wait(), 1)


async def test_a_failing_job_is_logged_by_its_label_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()

    async def job() -> None:
        raise RuntimeError("secret-token-in-message")

    background.spawn(job, what="mail reset-password")
    await background.drain(1)
    (record,) = [r for r in caplog.records if r.name == "factsvc.services.background"]
    line = record.getMessage()
    assert "mail reset-password" in line
    assert "RuntimeError" in line
    assert "secret-token-in-message" not in line


async def test_drain_waits_for_running_jobs_then_refuses_new_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()
    finished: list[str] = []

    async def job() -> None:
        await asyncio.sleep(0.05)
        finished.append("done")

    background.spawn(job, what="slow")
    await background.drain(2)
    assert finished == ["done"]
    background.spawn(job, what="late")
    await asyncio.sleep(0.1)
    assert finished == ["done"]
    assert "background job dropped: late" in caplog.text


async def test_drain_cancels_jobs_that_outlast_its_timeout() -> None:
    background = Background()
    cancelled = asyncio.Event()

    async def job() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background.spawn(job, what="endless")
    await asyncio.sleep(0)
    await background.drain(0.05)
    assert cancelled.is_set()
    assert background.running == 0


async def test_jobs_beyond_the_limit_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background(max_tasks=2)
    release = asyncio.Event()
    started: list[int] = []

    def job(number: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started.append(number)
            await release.wait()

        return run

    for number in range(3):
        background.spawn(job(number), what=f"job {number}")
    await asyncio.sleep(0.01)
    release.set()
    await background.drain(1)
    assert started == [0, 1]
    with caplog.at_level(logging.WARNING):
        assert "background job dropped: job 2" in caplog.text
