"""The rate limiter against the in-memory counter store: attempts counted, and guesses that
hold a place while they are judged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from factsvc.errors import DependencyUnavailable, Overloaded, RateLimited
from factsvc.services.limits import SETTLE_RETRY_SECONDS, Limit, RateLimiter
from tests.support.fake_redis_stores import FakeCounterStore

pytestmark = pytest.mark.gen_test(timeout=10)

ACCOUNT = Limit("a", 2, 60)
CLIENT = Limit("c", 2, 60)


def limiter(store: FakeCounterStore, max_wait_seconds: float = 2.0) -> RateLimiter:
    return RateLimiter(store, max_wait_seconds=max_wait_seconds)


async def hold_until(limiter: RateLimiter, release: asyncio.Event, *, fail: bool) -> None:
    async with limiter.guess((ACCOUNT, "alice")) as guess:
        await release.wait()
        if fail:
            await guess.failed()


async def test_attempts_are_counted_before_they_are_made_and_refused_past_the_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counting = limiter(FakeCounterStore())
    await counting.count((ACCOUNT, "alice"))
    await counting.count((ACCOUNT, "alice"))
    with caplog.at_level(logging.INFO, "factsvc.security"), pytest.raises(RateLimited) as caught:
        await counting.count((ACCOUNT, "alice"))
    assert caught.value.retry_after_seconds == 60
    assert "rate_limited limit=a subject=alice" in caplog.text


async def test_guesses_that_end_without_failing_never_lock() -> None:
    guessing = limiter(FakeCounterStore())
    for _ in range(10):
        async with guessing.guess((ACCOUNT, "alice"), (CLIENT, "192.0.2.1")):
            pass


async def test_failures_lock_the_right_guess_out_with_the_windows_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guessing = limiter(FakeCounterStore())
    for _ in range(2):
        async with guessing.guess((ACCOUNT, "alice")) as guess:
            await guess.failed()
    with caplog.at_level(logging.INFO, "factsvc.security"), pytest.raises(RateLimited) as caught:
        async with guessing.guess((ACCOUNT, "alice")):
            pass
    assert caught.value.retry_after_seconds == 60
    assert "rate_limited limit=a subject=alice" in caplog.text


async def test_a_guess_waits_for_a_place_and_takes_the_one_a_right_guess_gives_back() -> None:
    store = FakeCounterStore()
    guessing = limiter(store)
    release = asyncio.Event()
    holders = [asyncio.ensure_future(hold_until(guessing, release, fail=False)) for _ in range(2)]
    await asyncio.sleep(0.01)
    held = store.leases[ACCOUNT.key("alice")]
    before = set(held)
    waiting = asyncio.ensure_future(hold_until(guessing, asyncio.Event(), fail=False))
    await asyncio.sleep(0.05)
    assert set(held) == before, "no third place while two guesses are judged"
    release.set()
    await asyncio.gather(*holders)
    await asyncio.sleep(0.2)
    assert len(held) == 1, "the waiting guess holds a place now"
    assert not held.keys() & before
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_waiting_guess_is_refused_once_the_guesses_judged_meanwhile_fail() -> None:
    guessing = limiter(FakeCounterStore())
    release = asyncio.Event()
    holders = [asyncio.ensure_future(hold_until(guessing, release, fail=True)) for _ in range(2)]
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(hold_until(guessing, asyncio.Event(), fail=False))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(*holders)
    with pytest.raises(RateLimited):
        await asyncio.wait_for(waiting, 1.0)


async def test_a_guess_that_finds_no_place_in_time_is_overloaded_and_holds_none() -> None:
    store = FakeCounterStore()
    guessing = limiter(store, max_wait_seconds=0.1)
    release = asyncio.Event()
    holders = [asyncio.ensure_future(hold_until(guessing, release, fail=False)) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(Overloaded):
        async with guessing.guess((CLIENT, "192.0.2.1"), (ACCOUNT, "alice")):
            pass
    assert store.leases[CLIENT.key("192.0.2.1")] == {}, "the client's place was given back"
    release.set()
    await asyncio.gather(*holders)


async def test_a_guess_whose_judging_fails_otherwise_counts_nothing() -> None:
    store = FakeCounterStore()
    guessing = limiter(store)
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            async with guessing.guess((ACCOUNT, "alice")):
                raise DependencyUnavailable({"mongodb": "unavailable"})
    assert store.leases[ACCOUNT.key("alice")] == {}
    assert ACCOUNT.key("alice") not in store.counts


async def test_a_locked_limit_gives_back_the_places_taken_in_the_others() -> None:
    store = FakeCounterStore()
    guessing = limiter(store)
    for _ in range(2):
        async with guessing.guess((ACCOUNT, "alice")) as guess:
            await guess.failed()
    with pytest.raises(RateLimited):
        async with guessing.guess((CLIENT, "192.0.2.1"), (ACCOUNT, "alice")):
            pass
    assert store.leases[CLIENT.key("192.0.2.1")] == {}


async def test_clearing_a_subject_forgets_its_failures() -> None:
    guessing = limiter(FakeCounterStore())
    for _ in range(2):
        async with guessing.guess((ACCOUNT, "alice")) as guess:
            await guess.failed()
    await guessing.clear(ACCOUNT, "alice")
    async with guessing.guess((ACCOUNT, "alice")):
        pass


class HeldRetry:
    """A `sleep` for RateLimiter that holds the settle retry until `release()`."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._go = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await self._go.wait()

    async def release(self) -> None:
        self._go.set()
        for _ in range(10):  # let the retry run to its end
            await asyncio.sleep(0)


async def test_a_failure_the_store_missed_is_answered_at_once_and_counted_by_a_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, retry = FakeCounterStore(), HeldRetry()
    guessing = RateLimiter(store, sleep=retry)
    with caplog.at_level(logging.WARNING, "factsvc.services.limits"):
        async with guessing.guess((ACCOUNT, "alice"), (CLIENT, "192.0.2.1")) as guess:
            store.available = False
            await guess.failed()  # no DependencyUnavailable: the answer does not wait
    await asyncio.sleep(0)
    assert retry.delays == [SETTLE_RETRY_SECONDS]
    assert "rate-limit settle failed (2 limit(s), failed=True); retrying in 1.0 s" in caplog.text
    assert ACCOUNT.key("alice") not in store.counts
    store.available = True
    await retry.release()
    assert store.counts[ACCOUNT.key("alice")] == 1
    assert store.counts[CLIENT.key("192.0.2.1")] == 1
    assert store.leases[ACCOUNT.key("alice")] == {}
    assert "retry failed" not in caplog.text


async def test_a_right_guess_whose_end_is_lost_twice_is_logged_and_counts_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, retry = FakeCounterStore(), HeldRetry()
    guessing = RateLimiter(store, sleep=retry)
    with caplog.at_level(logging.WARNING, "factsvc.services.limits"):
        async with guessing.guess((ACCOUNT, "alice")):
            store.available = False
        await retry.release()
    assert retry.delays == [SETTLE_RETRY_SECONDS]
    assert "rate-limit settle retry failed (failed=False); the place lapses after 120 s" in (
        caplog.text
    )
    assert ACCOUNT.key("alice") not in store.counts


async def test_a_place_whose_end_was_lost_lapses_without_counting() -> None:
    now = [0.0]
    store = FakeCounterStore(lambda: now[0])
    retry = HeldRetry()
    guessing = RateLimiter(store, lease_seconds=120, sleep=retry)
    for _ in range(2):  # two right guesses whose ends never reach the store
        async with guessing.guess((ACCOUNT, "alice")):
            store.available = False
        store.available = True
    now[0] = 121.0
    async with guessing.guess((ACCOUNT, "alice")):
        pass
    await retry.release()  # the retries find the leases lapsed: still nothing counts
    assert ACCOUNT.key("alice") not in store.counts
