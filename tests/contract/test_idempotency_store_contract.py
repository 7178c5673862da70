"""The IdempotencyStore port: FakeIdempotencyStore and RedisIdempotencyStore pass the same
checks. Records here are any JSON object: what a record holds is services/idempotency.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from factsvc.errors import DependencyUnavailable, RateLimited
from factsvc.services.idempotency import IdempotencyStore, Quota
from factsvc.storage.redis_idempotency import RedisIdempotencyStore
from tests.contract.subjects import (
    REDIS_SUBJECTS,
    ManualClock,
    Subject,
    redis_subject,
)
from tests.support.fake_idempotency_store import FakeIdempotencyStore

pytestmark = pytest.mark.gen_test(timeout=30)

PENDING = {"state": "pending", "fingerprint": "f1", "claim": "c1"}
OTHER = {"state": "pending", "fingerprint": "f1", "claim": "c2"}
DONE = {"state": "done", "fingerprint": "f1", "answer": {"status": 201, "name": "Ünïcode"}}
TWO = Quota("scope-a", 2)
# Keys in scope-a's group, as a key under its quota must be.
A1, A2, A3, A4 = (f"scope-a:k{number}" for number in range(1, 5))


@pytest.fixture(params=REDIS_SUBJECTS)
def records(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[IdempotencyStore]:
    return redis_subject(request, clock, FakeIdempotencyStore, RedisIdempotencyStore)


async def test_the_first_claim_stores_and_later_ones_get_the_record_held(
    records: Subject[IdempotencyStore],
) -> None:
    assert await records.store.claim("k1", PENDING, 60) is None
    assert await records.store.claim("k1", OTHER, 60) == PENDING
    assert await records.store.load("k1") == PENDING
    assert await records.store.load("unknown") is None


async def test_of_concurrent_claims_exactly_one_stores(
    records: Subject[IdempotencyStore],
) -> None:
    claims = [{**PENDING, "claim": f"c{i}"} for i in range(10)]
    held = await asyncio.gather(*(records.store.claim("k1", claim, 60) for claim in claims))
    assert held.count(None) == 1
    winner = claims[held.index(None)]
    assert all(record == winner for record in held if record is not None)


async def test_a_claim_ends_when_its_ttl_runs_out(records: Subject[IdempotencyStore]) -> None:
    await records.store.claim("k1", PENDING, 1)
    await records.wait(1.1)
    assert await records.store.load("k1") is None
    assert await records.store.claim("k1", OTHER, 60) is None, "an expired key is free again"


async def test_settle_replaces_the_claimed_record_with_its_own_ttl(
    records: Subject[IdempotencyStore],
) -> None:
    await records.store.claim("k1", PENDING, 1)
    await records.store.settle("k1", PENDING, DONE, 3)
    await records.wait(1.1)
    assert await records.store.load("k1") == DONE, "the record lives by the settled TTL"
    await records.wait(2.2)
    assert await records.store.load("k1") is None


async def test_settle_with_none_frees_the_key(records: Subject[IdempotencyStore]) -> None:
    await records.store.claim("k1", PENDING, 60)
    await records.store.settle("k1", PENDING, None, 60)
    assert await records.store.load("k1") is None
    assert await records.store.claim("k1", OTHER, 60) is None


async def test_settle_leaves_another_claims_record_alone(
    records: Subject[IdempotencyStore],
) -> None:
    await records.store.claim("k1", OTHER, 60)
    await records.store.settle("k1", PENDING, DONE, 60)
    await records.store.settle("k1", PENDING, None, 60)
    assert await records.store.load("k1") == OTHER
    await records.store.settle("absent", PENDING, DONE, 60)
    assert await records.store.load("absent") is None, "settle never creates a record"


async def test_every_call_fails_as_dependency_unavailable_without_the_backend(
    records: Subject[IdempotencyStore],
) -> None:
    store = records.cut_off
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.claim("k1", PENDING, 60),
        lambda: store.settle("k1", PENDING, DONE, 60),
        lambda: store.load("k1"),
    ]
    for call in calls:
        with pytest.raises(DependencyUnavailable) as raised:
            await call()
        assert raised.value.states == {"redis": "unavailable"}


async def test_a_scope_holds_at_most_its_limit_and_refuses_a_new_key_past_it(
    records: Subject[IdempotencyStore],
) -> None:
    store = records.store
    assert await store.claim(A1, PENDING, 60, TWO) is None
    assert await store.claim(A2, PENDING, 30, TWO) is None
    with pytest.raises(RateLimited) as refused:
        await store.claim(A3, PENDING, 60, TWO)
    assert 29 <= refused.value.retry_after_seconds <= 30, "until the scope's first record ends"
    assert await store.load(A3) is None, "a refused key stores nothing"
    assert await store.claim(A1, OTHER, 60, TWO) == PENDING, "a key held is still answered"
    other_scope = Quota("scope-b", 2)
    assert await store.claim("scope-b:k3", PENDING, 60, other_scope) is None, "scopes apart"
    assert await store.claim("k4", PENDING, 60) is None, "and keys outside any scope"


async def test_a_freed_key_no_longer_counts_and_a_kept_one_counts_while_it_lives(
    records: Subject[IdempotencyStore],
) -> None:
    store = records.store
    await store.claim(A1, PENDING, 60, TWO)
    await store.claim(A2, PENDING, 60, TWO)
    await store.settle(A1, PENDING, None, 60, TWO)
    await store.settle(A2, PENDING, DONE, 2, TWO)
    assert await store.claim(A3, PENDING, 60, TWO) is None, "k1 was freed"
    with pytest.raises(RateLimited) as refused:
        await store.claim(A4, PENDING, 60, TWO)
    assert 1 <= refused.value.retry_after_seconds <= 2, "k2 counts by its settled TTL"
    await records.wait(2.2)
    assert await store.claim(A4, PENDING, 60, TWO) is None, "k2's record ended"


async def test_of_concurrent_claims_of_new_keys_a_scope_takes_only_its_limit(
    records: Subject[IdempotencyStore],
) -> None:
    async def claim(key: str) -> bool:
        try:
            return await records.store.claim(key, PENDING, 60, Quota("scope-a", 3)) is None
        except RateLimited:
            return False

    stored = await asyncio.gather(*(claim(f"scope-a:k{i}") for i in range(10)))
    assert stored.count(True) == 3


async def test_a_key_under_a_quota_must_be_in_its_scopes_group(
    records: Subject[IdempotencyStore],
) -> None:
    with pytest.raises(ValueError, match="group"):
        await records.store.claim("scope-b:k1", PENDING, 60, TWO)
    with pytest.raises(ValueError, match="group"):
        await records.store.settle("k1", PENDING, DONE, 60, TWO)
    assert await records.store.load("scope-b:k1") is None


async def test_a_grouped_key_is_one_key_with_or_without_its_quota(
    records: Subject[IdempotencyStore],
) -> None:
    assert await records.store.claim(A1, PENDING, 60, TWO) is None
    assert await records.store.load(A1) == PENDING
    assert await records.store.claim(A1, OTHER, 60) == PENDING
    await records.store.settle(A1, PENDING, DONE, 60)
    assert await records.store.load(A1) == DONE
    assert await records.store.load("k1") is None, "a group is part of its key"


async def test_forgetting_a_scope_deletes_its_records_pending_or_settled_and_its_count(
    records: Subject[IdempotencyStore],
) -> None:
    store = records.store
    await store.claim(A1, PENDING, 60, TWO)
    await store.settle(A1, PENDING, DONE, 60, TWO)
    await store.claim(A2, PENDING, 60, TWO)
    other_scope = Quota("scope-b", 2)
    await store.claim("scope-b:k1", PENDING, 60, other_scope)
    await store.claim("k1", PENDING, 60)
    await store.forget_scope("scope-a")
    assert await store.load(A1) is None
    assert await store.load(A2) is None
    assert await store.claim(A3, PENDING, 60, TWO) is None, "the count is gone too"
    assert await store.claim(A4, PENDING, 60, TWO) is None
    assert await store.load("scope-b:k1") == PENDING, "other scopes stay"
    assert await store.load("k1") == PENDING, "and keys outside any scope"
    await store.forget_scope("never-used")
    with pytest.raises(DependencyUnavailable):
        await records.cut_off.forget_scope("scope-a")
