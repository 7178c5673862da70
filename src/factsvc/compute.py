"""CPU-heavy work off the event loop: bounded executors, and the factorial computer on top."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

from factsvc.errors import Overloaded
from factsvc.services.factorial_math import factorial_decimal

T = TypeVar("T")

# gmpy2 computes and formats 5000! in about 0.3 ms: no dearer inline than the ~0.35 ms a
# process-pool round trip costs. Bigger n hold the GIL long enough to stall other requests.
INLINE_MAX_N = 5000


# CPU-heavy workers run at a lower priority than the event loop: on a machine whose cores they
# fill, the scheduler then runs the loop as soon as it has work instead of after a time slice.
BACKGROUND_NICENESS = 10


def lower_priority() -> None:
    """Initializer of pool threads and processes (Linux schedules threads one by one)."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


def make_process_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent runs an event loop and driver threads that a fork would copy.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=lower_priority,
    )


def make_thread_pool(threads: int, name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix=name, initializer=lower_priority)


class BoundedExecutor:
    """Runs jobs in an executor, refusing at once (Overloaded) when `max_pending` are queued
    or running, rather than letting a queue grow without limit."""

    def __init__(
        self,
        executor: Executor,
        *,
        max_pending: int,
        what: str,
        on_reject: Callable[[], None] = lambda: None,
    ) -> None:
        self._executor = executor
        self._max_pending = max_pending
        self._what = what
        self._on_reject = on_reject
        self.pending = 0
        self.rejected = 0

    def ensure_capacity(self) -> None:
        """Overloaded now, before a caller spends I/O on a job that would be refused."""
        if self.pending >= self._max_pending:
            self.rejected += 1
            self._on_reject()
            raise Overloaded(self._what)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        self.ensure_capacity()
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)
        finally:
            self.pending -= 1


class PooledFactorialComputer:
    def __init__(self, runner: BoundedExecutor) -> None:
        self._runner = runner

    async def compute(self, n: int) -> str:
        if n <= INLINE_MAX_N:
            return factorial_decimal(n)
        return await self._runner.run(factorial_decimal, n)
