"""The CounterStore port: FakeCounterStore and RedisCounterStore pass the same checks."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from factsvc.errors import DependencyUnavailable
from factsvc.services.limits import CounterStore
from factsvc.storage.redis_counters import RedisCounterStore
from tests.contract.subjects import ManualClock, Subject, fake_subject, real_subject
from tests.support.fake_redis_stores import FakeCounterStore

pytestmark = pytest.mark.gen_test(timeout=30)


@pytest.fixture(params=["fake", "redis"])
def counters(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[CounterStore]:
    if request.param == "fake":
        cut_off = FakeCounterStore(clock)
        cut_off.available = False
        return fake_subject(FakeCounterStore(clock), cut_off, clock)
    live: Redis = request.getfixturevalue("live_redis")
    dead: Redis = request.getfixturevalue("dead_redis")
    return real_subject(RedisCounterStore(live), RedisCounterStore(dead))


async def test_the_first_hit_opens_a_window_of_the_given_length(
    counters: Subject[CounterStore],
) -> None:
    assert await counters.store.hit("k", 10) == (1, 10)
    assert await counters.store.hit("k", 10) == (2, 10)


async def test_later_hits_never_extend_the_window(counters: Subject[CounterStore]) -> None:
    await counters.store.hit("k", 10)
    await counters.wait(1.1)
    count, seconds_left = await counters.store.hit("k", 10)
    assert count == 2
    assert 8 <= seconds_left <= 9


async def test_a_new_window_starts_from_one_after_the_last_one_ended(
    counters: Subject[CounterStore],
) -> None:
    await counters.store.hit("k", 1)
    assert (await counters.store.hit("k", 1))[0] == 2
    await counters.wait(1.1)
    assert await counters.store.hit("k", 1) == (1, 1)


async def test_counters_are_independent_of_each_other(counters: Subject[CounterStore]) -> None:
    await counters.store.hit("a", 10)
    await counters.store.hit("a", 10)
    assert await counters.store.hit("b", 10) == (1, 10)


async def test_a_refund_takes_back_one_hit_within_the_same_window(
    counters: Subject[CounterStore],
) -> None:
    for _ in range(3):
        await counters.store.hit("k", 10)
    await counters.store.refund("k")
    await counters.wait(1.1)
    count, seconds_left = await counters.store.hit("k", 10)
    assert (count, seconds_left <= 9) == (3, True)


async def test_a_refund_of_a_missing_counter_creates_nothing(
    counters: Subject[CounterStore],
) -> None:
    await counters.store.refund("missing")
    assert await counters.store.hit("missing", 10) == (1, 10)


async def test_a_reset_starts_a_new_window_at_the_next_hit(
    counters: Subject[CounterStore],
) -> None:
    await counters.store.hit("k", 10)
    await counters.store.hit("k", 10)
    await counters.store.reset("k")
    await counters.store.reset("never-hit")
    assert await counters.store.hit("k", 10) == (1, 10)


async def test_every_call_fails_as_dependency_unavailable_without_the_backend(
    counters: Subject[CounterStore],
) -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        await counters.cut_off.hit("k", 10)
    assert raised.value.states == {"redis": "unavailable"}
    with pytest.raises(DependencyUnavailable):
        await counters.cut_off.refund("k")
    with pytest.raises(DependencyUnavailable):
        await counters.cut_off.reset("k")
