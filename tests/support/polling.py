"""Waiting for a condition by polling it until a deadline, in place of a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Between two polls, in seconds: short beside any wait a test has, long enough to let the
# service (or the process under test) run.
PAUSE_SECONDS = 0.05


def eventually(
    condition: Callable[[], T],
    within: float,
    message: str,
    pause: float = PAUSE_SECONDS,
    accept: Callable[[T], object] = bool,
) -> T:
    """Call `condition` every `pause` seconds, blocking the thread in between, until it returns
    a value that `accept` finds true (by default: a truthy value), and return that value.
    `within` and `pause` are seconds of time.monotonic(); the condition is called at least once,
    and the last failing call ends at or after the deadline. A slow call (a request) is not cut
    off at the deadline, and an exception raised by `condition` ends the wait at once. Raises
    AssertionError naming `message` and the last value if none was accepted within `within`
    seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (within {within:g} s; last: {value!r})")
        time.sleep(pause)


async def eventually_async(
    condition: Callable[[], T],
    within: float,
    message: str,
    pause: float = PAUSE_SECONDS,
    accept: Callable[[T], object] = bool,
) -> T:
    """`eventually` for a test that shares its loop with the service under test: sleeps with
    asyncio.sleep between polls, so that the service runs meanwhile. `condition` runs on the
    loop, so it must be quick; seconds are the loop's clock; AssertionError at the deadline."""
    return await eventually_awaited(_awaitable(condition), within, message, pause, accept)


async def eventually_awaited(
    condition: Callable[[], Awaitable[T]],
    within: float,
    message: str,
    pause: float = PAUSE_SECONDS,
    accept: Callable[[T], object] = bool,
) -> T:
    """`eventually_async` for a condition that is awaited (a request, a coroutine function):
    each poll awaits `condition()` to get the value. Seconds are the loop's clock;
    AssertionError naming `message` and the last value at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await condition()
        if accept(value):
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{message} (within {within:g} s; last: {value!r})")
        await asyncio.sleep(pause)


def _awaitable(condition: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def awaited() -> T:
        return condition()

    return awaited
