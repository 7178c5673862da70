"""CPU-heavy work off the event loop: thread and process pools behind a bounded queue."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

from factsvc.errors import Overloaded

T = TypeVar("T")

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
    """Runs jobs in an executor with at most `max_pending` queued or running.

    A job beyond that waits, first come first served, up to `max_wait_seconds` for a place,
    and is refused (Overloaded) if none frees in time; with no wait it is refused at once.
    The wait matters under overload: clients that retry as soon as they are refused keep the
    event loop busy answering them, and the workers, which run at a lower priority, then
    starve (measured: successful logins fell to a third of the machine's bcrypt rate). A
    refusal that comes after a wait costs no CPU while it waits.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        max_pending: int,
        what: str,
        max_wait_seconds: float = 0.0,
        on_reject: Callable[[], None] = lambda: None,
    ) -> None:
        self._executor = executor
        self._max_pending = max_pending
        self._max_wait_seconds = max_wait_seconds
        self._what = what
        self._on_reject = on_reject
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.pending = 0
        self.rejected = 0

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold one place for a whole use case (a login: rate limits, a lookup, then a hash),
        so that it waits or is refused before it spends any I/O, and the jobs it runs inside
        take no second place. Refusals then cost the backends nothing: logins refused after
        their lookups kept MongoDB busy and cut successful logins at 512 connections."""
        if self._held_here():
            yield
            return
        await self._take_place()
        token = _holding.set((self, asyncio.current_task()))
        try:
            yield
        finally:
            _holding.reset(token)
            self._free_place()

    async def run(self, function: Callable[..., T], *args: object) -> T:
        async with self.admitted():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)

    def _held_here(self) -> bool:
        # The task too, not only the context: a task started inside `admitted()` inherits its
        # context, but not its place.
        return _holding.get() == (self, asyncio.current_task())

    async def _take_place(self) -> None:
        # Below the limit nobody waits: a freed place goes to a waiter before `pending` drops.
        if self.pending < self._max_pending:
            self.pending += 1
            return
        if self._max_wait_seconds <= 0:
            self._reject()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(self._max_wait_seconds, _expire, waiter)
        try:
            await waiter  # a freed place is handed over with `pending` already counting it
        except TimeoutError:
            self._reject()
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._free_place()  # handed a place just as the caller was cancelled
            raise
        finally:
            expiry.cancel()

    def _free_place(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.pending -= 1

    def _reject(self) -> NoReturn:
        self.rejected += 1
        self._on_reject()
        raise Overloaded(self._what)


# The executor whose place the current task holds (see BoundedExecutor.admitted).
_holding: contextvars.ContextVar[tuple[BoundedExecutor, asyncio.Task[Any] | None] | None] = (
    contextvars.ContextVar("holding_place", default=None)
)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
