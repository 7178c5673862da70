"""Readiness over fake probes: every dependency asked at once, each within its timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from factsvc.errors import DependencyUnavailable
from factsvc.services.health import ReadinessService

pytestmark = pytest.mark.gen_test


async def answers() -> None:
    return None


async def fails() -> None:
    raise ConnectionError("refused")


async def hangs() -> None:
    await asyncio.sleep(60)


async def test_ready_when_every_dependency_answers() -> None:
    service = ReadinessService({"redis": answers, "mongodb": answers}, timeout_seconds=0.2)
    assert await service.check() == {"redis": "ok", "mongodb": "ok"}


async def test_a_failing_or_hanging_dependency_is_reported_within_the_timeout() -> None:
    service = ReadinessService(
        {"redis": fails, "mongodb": hangs, "other": answers}, timeout_seconds=0.2
    )
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        await service.check()
    assert time.monotonic() - started < 1.0
    assert caught.value.states == {"redis": "unavailable", "mongodb": "unavailable", "other": "ok"}
    # The reason goes to the log with the 503: the first failure, as the error's cause.
    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_a_stopping_process_is_not_ready() -> None:
    service = ReadinessService({"redis": answers}, timeout_seconds=0.2)
    service.mark_stopping()
    with pytest.raises(DependencyUnavailable) as caught:
        await service.check()
    assert caught.value.states == {"redis": "ok", "process": "stopping"}
