"""What a contract test runs against: one implementation of a port, a twin cut off from its
backend, and a way to let time pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest

from factsvc.services.session_tokens import user_tag
from factsvc.storage.redis_client import RedisClient

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


def redis_subject(
    request: pytest.FixtureRequest,
    clock: ManualClock,
    # A fake store of the port on `clock`, with an `available` flag: it varies by port.
    fake: Callable[[ManualClock], Any],
    adapter: Callable[[RedisClient], Port],
) -> Subject[Port]:
    """The subject of a fixture parametrized by REDIS_SUBJECTS: two fakes made by `fake` (one
    marked unavailable), or the Redis `adapter` on the live client and on the dead one."""
    if request.param == "fake":
        cut_off = fake(clock)
        cut_off.available = False
        return fake_subject(fake(clock), cut_off, clock)
    live: RedisClient = request.getfixturevalue(LIVE_REDIS[request.param])
    dead: RedisClient = request.getfixturevalue(DEAD_REDIS[request.param])
    return real_subject(adapter(live), adapter(dead))


def user_key(user_id: str, name: str) -> str:
    """A key shaped as the stores' keys of a user are (session_key, token_key): the user's tag,
    a colon, a name."""
    return f"{user_tag(user_id)}:{name}"
