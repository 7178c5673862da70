"""The Idempotency-Key service against an in-memory store: replays, refusals, scopes, expiry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping

import pytest

from factsvc.errors import (
    DependencyUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    RateLimited,
)
from factsvc.services.idempotency import (
    IN_FLIGHT_LEASE_SECONDS,
    IdempotencyService,
    Outcome,
    parse_key,
    registration_scope,
    registration_scope_of,
    session_scope,
)
from factsvc.services.sessions import session_key
from tests.contract.subjects import ManualClock
from tests.support.fake_idempotency_store import FakeIdempotencyStore

pytestmark = pytest.mark.gen_test

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"
BODY = {"username": "alice", "password": "correct horse battery"}
TTL = 3600


class Counted:
    """An operation that counts its runs, answers a numbered outcome, and can be held."""

    def __init__(self, *, keep: bool = True) -> None:
        self.runs = 0
        self.keep = keep
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> Outcome:
        self.runs += 1
        await self.release.wait()
        return Outcome({"status": 201, "payload": {"run": self.runs}}, self.keep)


class World:
    def __init__(self, unknown_seconds: int = 600, keys_per_scope: int | None = None) -> None:
        self.clock = ManualClock()
        self.store = FakeIdempotencyStore(self.clock)
        self.service = IdempotencyService(
            self.store,
            secret=b"s" * 32,
            ttl_seconds=TTL,
            unknown_seconds=unknown_seconds,
            keys_per_scope=keys_per_scope,
        )

    def once(
        self,
        operation: Callable[[], Awaitable[Outcome]],
        body: Mapping[str, object] = BODY,
        key: str = KEY,
        scope: str = "register:alice",
    ) -> Awaitable[object]:
        return self.service.once(scope, key, body, operation)


async def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_without_a_rerun() -> None:
    world, operation = World(), Counted()
    first = await world.once(operation)
    assert await world.once(operation) == first == {"status": 201, "payload": {"run": 1}}
    assert operation.runs == 1


async def test_the_same_key_with_another_body_is_refused_and_runs_nothing() -> None:
    world, operation = World(), Counted()
    await world.once(operation)
    with pytest.raises(IdempotencyKeyReused):
        await world.once(operation, body={**BODY, "password": "another password"})
    with pytest.raises(IdempotencyKeyReused):
        await world.once(operation, body={**BODY, "nickname": "al"})
    assert operation.runs == 1


async def test_a_key_whose_request_still_runs_is_refused_as_in_flight() -> None:
    world, operation = World(), Counted()
    operation.release.clear()
    first = asyncio.ensure_future(world.once(operation))
    await asyncio.sleep(0)
    with pytest.raises(IdempotencyKeyInFlight) as raised:
        await world.once(operation)
    assert raised.value.retry_after_seconds == 1
    operation.release.set()
    assert await first == {"status": 201, "payload": {"run": 1}}
    assert await world.once(operation) == await first, "then the retry gets the answer"


async def test_an_expired_key_counts_as_new() -> None:
    world, operation = World(), Counted()
    await world.once(operation)
    await world.clock.advance(TTL - 1)
    assert await world.once(operation) == {"status": 201, "payload": {"run": 1}}
    await world.clock.advance(2)
    assert await world.once(operation) == {"status": 201, "payload": {"run": 2}}


async def test_a_request_whose_process_died_frees_its_key_after_the_lease() -> None:
    world, operation = World(), Counted()
    operation.release.clear()
    abandoned = asyncio.ensure_future(world.once(operation))
    await asyncio.sleep(0)
    await world.clock.advance(IN_FLIGHT_LEASE_SECONDS + 1)
    other = Counted()
    assert await world.once(other) == {"status": 201, "payload": {"run": 1}}
    abandoned.cancel()


async def test_scopes_never_share_a_key() -> None:
    world, operation = World(), Counted()
    await world.once(operation, scope="register:alice")
    assert await world.once(operation, scope="register:bob") == {
        "status": 201,
        "payload": {"run": 2},
    }
    assert await world.once(operation, scope="session:x") == {"status": 201, "payload": {"run": 3}}


async def test_a_new_key_past_the_scopes_bound_is_refused_before_it_runs() -> None:
    world, operation = World(keys_per_scope=2), Counted()
    first = await world.once(operation, key="first-key-0123456")
    await world.clock.advance(10)
    await world.once(operation, key="second-key-012345")
    with pytest.raises(RateLimited) as refused:
        await world.once(operation, key="third-key-0123456")
    assert refused.value.retry_after_seconds == TTL - 10, "until the first key's record ends"
    assert operation.runs == 2
    assert await world.once(operation, key="first-key-0123456") == first, "a retry still replays"
    assert await world.once(operation, key="third-key-0123456", scope="session:x") == {
        "status": 201,
        "payload": {"run": 3},
    }, "another scope has its own bound"
    await world.clock.advance(TTL - 10)
    assert await world.once(operation, key="third-key-0123456") == {
        "status": 201,
        "payload": {"run": 4},
    }, "a key whose record ended frees its place"


async def test_keys_whose_answers_are_not_kept_do_not_count_against_the_bound() -> None:
    world, operation = World(keys_per_scope=1), Counted(keep=False)
    for key in ("first-key-0123456", "second-key-012345", "third-key-0123456"):
        await world.once(operation, key=key)
    assert operation.runs == 3


@pytest.mark.parametrize(
    "failure", [DependencyUnavailable({"mongodb": "unavailable"}), RuntimeError("bug")]
)
async def test_a_failed_request_is_not_kept_and_its_retry_runs(failure: Exception) -> None:
    world, runs = World(), []

    async def failing() -> Outcome:
        runs.append(1)
        raise failure

    for _ in range(2):
        with pytest.raises(type(failure)):
            await world.once(failing)
    assert len(runs) == 2
    assert world.store.records == {}


async def test_an_answer_not_to_keep_is_answered_once_and_never_stored() -> None:
    world, operation = World(), Counted(keep=False)
    assert await world.once(operation) == {"status": 201, "payload": {"run": 1}}
    assert await world.once(operation) == {"status": 201, "payload": {"run": 2}}
    assert world.store.records == {}


async def test_the_answer_is_given_even_when_the_store_fails_after_the_request() -> None:
    world = World()

    async def store_goes_down() -> Outcome:
        world.store.available = False
        return Outcome({"status": 201, "payload": {}})

    assert await world.once(store_goes_down) == {"status": 201, "payload": {}}


async def test_the_store_holds_neither_the_key_nor_the_body() -> None:
    world = World()
    await world.once(Counted())
    text = json.dumps(world.store.records)
    for secret in (KEY, "correct horse battery", "alice"):
        assert secret not in text


async def test_an_unknown_outcome_is_remembered_for_its_time_only() -> None:
    world = World(unknown_seconds=600)
    assert not await world.service.recalls("register:alice")
    await world.service.remember("register:alice")
    assert await world.service.recalls("register:alice")
    assert not await world.service.recalls("register:bob")
    await world.clock.advance(601)
    assert not await world.service.recalls("register:alice")


async def test_unknown_outcomes_are_not_remembered_when_their_time_is_zero() -> None:
    world = World(unknown_seconds=0)
    await world.service.remember("register:alice")
    assert not await world.service.recalls("register:alice")


async def test_remembering_survives_a_store_outage() -> None:
    world = World()
    world.store.available = False
    await world.service.remember("register:alice")


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ([], None),
        ([f'"{KEY}"'], KEY),
        ([KEY], KEY),
        ([f"  {KEY} "], KEY),
        (["a" * 16], "a" * 16),
        (["A0._~:+/=-" * 12 + "abcdefgh"], "A0._~:+/=-" * 12 + "abcdefgh"),
    ],
)
def test_a_key_is_read_quoted_as_the_draft_says_or_bare(values: list[str], key: str | None) -> None:
    assert parse_key(values) == key


@pytest.mark.parametrize(
    "values",
    [
        [KEY, KEY],
        [f"{KEY}, {KEY}"],
        ["a" * 15],
        ["a" * 129],
        [""],
        ['""'],
        [f'"{KEY}'],
        [f'{KEY}"'],
        [f'"{KEY[:20]}\\"{KEY[20:]}"'],
        [f"{KEY};v=1"],
        [f"{KEY[:20]} {KEY[20:]}"],
        ["é" * 20],
        [f"{KEY[:20]}\x00{KEY[20:]}"],
    ],
)
def test_a_malformed_key_or_several_keys_are_refused(values: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_key(values)
    assert set(raised.value.errors) == {"Idempotency-Key"}


def test_a_registration_is_scoped_to_its_username_as_stored() -> None:
    assert registration_scope(BODY) == "register:alice" == registration_scope_of("alice")
    assert registration_scope({"username": "Alice"}) == registration_scope(BODY)
    assert registration_scope({"username": "bob"}) != registration_scope(BODY)
    assert registration_scope({"username": ["alice"]}) == registration_scope({})


async def test_forgetting_a_scope_lets_a_retry_of_its_key_run_again() -> None:
    store = FakeIdempotencyStore()
    service = IdempotencyService(
        store, secret=b"s" * 32, ttl_seconds=60, unknown_seconds=60, keys_per_scope=5
    )
    runs: list[int] = []

    async def operation() -> Outcome:
        runs.append(1)
        return Outcome({"status": 201, "payload": {"run": len(runs)}})

    scope = registration_scope(BODY)
    first = await service.once(scope, KEY, BODY, operation)
    assert await service.once(scope, KEY, BODY, operation) == first
    other = await service.once("register:bob", KEY, BODY, operation)
    await service.forget(scope)
    again = await service.once(scope, KEY, BODY, operation)
    assert again != first
    assert again["payload"] == {"run": 3}
    assert await service.once("register:bob", KEY, BODY, operation) == other


def test_an_authenticated_request_is_scoped_to_its_session_token() -> None:
    token = "t" * 43 + "0a1b"
    assert session_scope(token) == "session:" + session_key(token)
    assert session_scope("u" * 43 + "0a1b") != session_scope(token)
    assert session_scope("t" * 43) is None, "a token of before the user's tag"
    assert session_scope(None) is None
    assert session_scope("not a token") is None
