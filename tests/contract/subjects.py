"""What a contract test runs against: one implementation of a port, a twin cut off from its
backend, and a way to let time pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Port = TypeVar("Port")

# The real backends an adapter is proven on, by subject: the fixture of a live client of each
# (tests/contract/conftest.py), emptied for each test, and of one cut off from it.
LIVE_REDIS = {"redis": "live_redis", "cluster": "cluster_redis"}
DEAD_REDIS = {"redis": "dead_redis", "cluster": "dead_cluster_redis"}
REDIS_SUBJECTS = ["fake", *LIVE_REDIS]


class ManualClock:
    """A clock in seconds that moves only when a test advances it: fakes take it as `clock`."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    async def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Subject(Generic[Port]):
    """`store` works; `cut_off` is the same kind of store without its backend (a fake marked
    unavailable, an adapter on a port where nothing listens); `wait(seconds)` lets that much
    time pass for `store`: a manual clock for fakes, real sleep for adapters."""

    store: Port
    cut_off: Port
    wait: Callable[[float], Awaitable[object]]


def fake_subject(store: Port, cut_off: Port, clock: ManualClock) -> Subject[Port]:
    return Subject(store, cut_off, clock.advance)


def real_subject(store: Port, cut_off: Port) -> Subject[Port]:
    return Subject(store, cut_off, asyncio.sleep)
