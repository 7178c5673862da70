"""Work that runs after the answer: tasks spawned, their failures logged, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Background:
    """Tasks run after the answer on the running loop; each failure is logged by `what` (a
    fixed label such as "mail verify-email"), never with the job's arguments, which may hold
    tokens or addresses.

    At most `max_tasks` run at once: beyond, a job is dropped and logged (a flood of requests
    must not grow memory without bound; the rate limits keep honest use far below).
    """

    def __init__(self, *, max_tasks: int = 10_000) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._max_tasks = max_tasks
        self._closed = False

    @property
    def running(self) -> int:
        """The number of tasks not yet finished."""
        return len(self._tasks)

    def spawn(self, job: Callable[[], Awaitable[None]], *, what: str) -> None:
        """Start `job()` as a task of the running loop and return at once; never raises.
        Dropped, and logged, after drain() began or when `max_tasks` are running."""
        if self._closed:
            log.warning("background job dropped: %s (the service is stopping)", what)
            return
        if len(self._tasks) >= self._max_tasks:
            log.warning("background job dropped: %s (%d jobs running)", what, len(self._tasks))
            return
        try:
            task = asyncio.get_running_loop().create_task(self._run(job, what))
        except Exception:
            log.exception("background job not started: %s", what)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_seconds: float) -> None:
        """At shutdown: refuse new jobs, wait up to `timeout_seconds` for those running, then
        cancel the rest (each logged by `what`)."""
        self._closed = True
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, late = await asyncio.wait(pending, timeout=timeout_seconds)
        for task in late:
            log.warning("background job cancelled at shutdown: %s", task.get_name())
            task.cancel()
        if late:
            await asyncio.wait(late)

    @staticmethod
    async def _run(job: Callable[[], Awaitable[None]], what: str) -> None:
        current = asyncio.current_task()
        if current is not None:
            current.set_name(what)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The class and where it was raised, not its text: that may quote the arguments.
            log.error(
                "background job failed: %s (%s at %s)", what, type(error).__name__, _origin(error)
            )


def _origin(error: BaseException) -> str:
    """Where `error` was raised, as file:line of the innermost frame."""
    trace = error.__traceback__
    if trace is None:
        return "?"
    while trace.tb_next is not None:
        trace = trace.tb_next
    return f"{trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"
