"""The CounterStore port: FakeCounterStore and RedisCounterStore pass the same checks."""

from __future__ import annotations

import pytest

from factsvc.errors import DependencyUnavailable
from factsvc.services.limits import CounterStore, Reservation
from factsvc.storage.redis_counters import RedisCounterStore
from tests.contract.subjects import (
    REDIS_SUBJECTS,
    ManualClock,
    Subject,
    redis_subject,
)
from tests.support.fake_redis_stores import FakeCounterStore

pytestmark = pytest.mark.gen_test(timeout=30)


@pytest.fixture(params=REDIS_SUBJECTS)
def counters(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[CounterStore]:
    return redis_subject(request, clock, FakeCounterStore, RedisCounterStore)


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
        await counters.cut_off.reserve("k", "l", max_failures=1, lease_seconds=9, window_seconds=9)
    with pytest.raises(DependencyUnavailable):
        await counters.cut_off.settle("k", "l", failed=True, window_seconds=9)
    with pytest.raises(DependencyUnavailable):
        await counters.cut_off.reset("k")


ADMITTED, BUSY = Reservation("admitted"), Reservation("busy")


async def reserve(
    store: CounterStore,
    lease: str,
    max_failures: int = 2,
    lease_seconds: int = 60,
    window: int = 10,
) -> Reservation:
    return await store.reserve(
        "k", lease, max_failures=max_failures, lease_seconds=lease_seconds, window_seconds=window
    )


async def fail(store: CounterStore, lease: str, window: int = 10) -> None:
    await store.settle("k", lease, failed=True, window_seconds=window)


async def release(store: CounterStore, lease: str) -> None:
    await store.settle("k", lease, failed=False, window_seconds=10)


async def test_places_are_held_up_to_the_limit_then_the_store_is_busy(
    counters: Subject[CounterStore],
) -> None:
    assert [await reserve(counters.store, lease) for lease in "abc"] == [ADMITTED, ADMITTED, BUSY]


async def test_a_place_given_back_without_failing_counts_nothing(
    counters: Subject[CounterStore],
) -> None:
    for _ in range(5):
        assert await reserve(counters.store, "a", max_failures=1) == ADMITTED
        await release(counters.store, "a")
    assert await reserve(counters.store, "a", max_failures=1) == ADMITTED


async def test_failures_reaching_the_limit_lock_for_the_rest_of_the_window(
    counters: Subject[CounterStore],
) -> None:
    for lease in "ab":
        assert await reserve(counters.store, lease) == ADMITTED
        await fail(counters.store, lease)
    assert await reserve(counters.store, "c") == Reservation("locked", 10)
    await counters.wait(1.1)
    locked = await reserve(counters.store, "c")
    assert locked.outcome == "locked"
    assert 8 <= locked.seconds_left <= 9


async def test_failures_plus_places_held_make_the_store_busy_not_locked(
    counters: Subject[CounterStore],
) -> None:
    await reserve(counters.store, "a")
    await fail(counters.store, "a")
    assert await reserve(counters.store, "b") == ADMITTED
    assert await reserve(counters.store, "c") == BUSY
    await release(counters.store, "b")
    assert await reserve(counters.store, "c") == ADMITTED


async def test_the_failure_window_opens_at_the_first_failure_and_is_never_extended(
    counters: Subject[CounterStore],
) -> None:
    await reserve(counters.store, "a", window=2)
    await counters.wait(1.1)
    await fail(counters.store, "a", window=2)  # the window opens here, not at the reservation
    await counters.wait(1.1)
    await reserve(counters.store, "b", window=2)
    await fail(counters.store, "b", window=2)
    assert (await reserve(counters.store, "c", window=2)).outcome == "locked"
    await counters.wait(1.1)
    assert await reserve(counters.store, "c", window=2) == ADMITTED


async def test_a_lapsed_lease_counts_nothing_and_gives_back_its_place(
    counters: Subject[CounterStore],
) -> None:
    assert await reserve(counters.store, "a", max_failures=1, lease_seconds=1) == ADMITTED
    assert await reserve(counters.store, "b", max_failures=1) == BUSY
    await counters.wait(1.1)
    assert await reserve(counters.store, "b", max_failures=1) == ADMITTED
    await release(counters.store, "a")  # its late end, uncounted as well
    await release(counters.store, "b")
    assert await reserve(counters.store, "c", max_failures=1) == ADMITTED


async def test_a_failure_ended_after_its_lease_lapsed_counts_once(
    counters: Subject[CounterStore],
) -> None:
    assert await reserve(counters.store, "a", lease_seconds=1) == ADMITTED
    await counters.wait(1.1)
    assert await reserve(counters.store, "b") == ADMITTED  # finds a lapsed, counting nothing
    await fail(counters.store, "a")
    await fail(counters.store, "a")  # a retried end whose first reply was lost
    await release(counters.store, "b")
    assert await reserve(counters.store, "c") == ADMITTED  # one failure of two
    await fail(counters.store, "c")
    assert (await reserve(counters.store, "d")).outcome == "locked"


async def test_a_failure_ended_after_its_lease_lapsed_unnoticed_counts_once(
    counters: Subject[CounterStore],
) -> None:
    assert await reserve(counters.store, "a", lease_seconds=1) == ADMITTED
    await counters.wait(1.1)
    await fail(counters.store, "a")  # no reservation found the lapse first
    await fail(counters.store, "a")
    assert await reserve(counters.store, "b") == ADMITTED
    await fail(counters.store, "b")
    assert (await reserve(counters.store, "c")).outcome == "locked"


async def test_a_reset_forgets_failures_but_keeps_places_held(
    counters: Subject[CounterStore],
) -> None:
    await reserve(counters.store, "a")
    await fail(counters.store, "a")
    assert await reserve(counters.store, "b") == ADMITTED
    await counters.store.reset("k")
    assert await reserve(counters.store, "c") == ADMITTED
    assert await reserve(counters.store, "d") == BUSY


async def test_ending_a_lease_never_held_counts_nothing(counters: Subject[CounterStore]) -> None:
    await fail(counters.store, "never-reserved")
    assert await reserve(counters.store, "a", max_failures=1) == ADMITTED


async def test_leases_and_failures_of_other_keys_are_independent(
    counters: Subject[CounterStore],
) -> None:
    await reserve(counters.store, "a", max_failures=1)
    await fail(counters.store, "a")
    assert (
        await counters.store.reserve(
            "other", "b", max_failures=1, lease_seconds=60, window_seconds=10
        )
        == ADMITTED
    )
    assert (await reserve(counters.store, "c", max_failures=1)).outcome == "locked"
