"""The bounded executor refuses at once when full, and frees its places as jobs end."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from factsvc.compute import BoundedExecutor
from factsvc.errors import Overloaded

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
            runner.ensure_capacity()
        assert runner.rejected == 2
        release.set()
        assert await asyncio.gather(*held) == [True, True]
        assert await runner.run(sum, [1, 2]) == 3
        assert runner.pending == 0
