"""A process pool that replaces itself when one of its workers dies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class RenewedProcessPool(Executor):
    """A ProcessPoolExecutor from `make_pool`, replaced by a new one as soon as it breaks.

    A worker that dies (a native codec crashing on hostile input, the kernel's OOM killer)
    breaks a ProcessPoolExecutor for good: every job then fails at once with
    BrokenProcessPool. The jobs it held still fail so; the next ones run in a new pool."""

    def __init__(self, make_pool: Callable[[], ProcessPoolExecutor]) -> None:
        self._make_pool = make_pool
        self._lock = threading.Lock()
        self._pool = make_pool()
        self._shut_down = False
        self.renewals = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            pool = self._pool
        try:
            future = pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            future = self._renew(pool).submit(fn, *args, **kwargs)
            pool = self._pool
        future.add_done_callback(lambda done: self._renew_if_broken(pool, done))
        return future

    def _renew_if_broken(self, pool: ProcessPoolExecutor, done: Future[Any]) -> None:
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            self._renew(pool)

    def _renew(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken and not self._shut_down:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._make_pool()
                self.renewals += 1
            return self._pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut_down = True
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)
