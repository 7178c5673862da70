"""Registrations and password changes whose answer the client never learnt, retried without an
Idempotency-Key: the account service against in-memory fakes."""

from __future__ import annotations

import pytest

from factsvc.errors import (
    DependencyUnavailable,
    Duplicate,
    NotAuthenticated,
    RateLimited,
)
from factsvc.services.accounts import AccountService
from factsvc.services.idempotency import IdempotencyService
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import NewAccount, User
from tests.contract.subjects import ManualClock
from tests.support.fake_idempotency_store import FakeIdempotencyStore
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner
from tests.support.limits import attempt_limits_with

pytestmark = pytest.mark.gen_test

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
CLIENT = "192.0.2.1"
UNKNOWN_SECONDS = 600
ACCOUNT_LIMIT = 3


class TimingOutStore(FakeAccountStore):
    """Stores what it is given, then fails as a MongoDB that timed out after the write would:
    while `times_out` is set, the caller cannot know whether anything was stored."""

    times_out = False
    times_out_before_writing = False

    async def insert(self, account: NewAccount) -> User:
        if self.times_out_before_writing:
            raise DependencyUnavailable({"mongodb": "unavailable"})
        user = await super().insert(account)
        if self.times_out:
            raise DependencyUnavailable({"mongodb": "unavailable"})
        return user


class World:
    def __init__(self, unknown_seconds: int = UNKNOWN_SECONDS) -> None:
        self.clock = ManualClock()
        self.store = TimingOutStore()
        self.runner = InlineRunner()
        self.outcomes = IdempotencyService(
            FakeIdempotencyStore(self.clock),
            secret=b"s" * 32,
            ttl_seconds=3600,
            unknown_seconds=unknown_seconds,
        )
        self.accounts = AccountService(
            store=self.store,
            hasher=PasswordHasher(self.runner, rounds=4, pepper=""),
            sessions=SessionService(FakeSessionStore(), idle_seconds=600, absolute_seconds=3600),
            limiter=RateLimiter(FakeCounterStore()),
            limits=attempt_limits_with(
                per_account=Limit("a", ACCOUNT_LIMIT, 3600),
                per_client=Limit("c", 50, 900),
                registrations_per_client=Limit("r", 50, 3600),
            ),
            common_passwords=frozenset(),
            unknown_outcomes=self.outcomes,
        )

    async def register(self, password: str = PASSWORD, username: str = "alice") -> User:
        return await self.accounts.register({"username": username, "password": password}, CLIENT)

    async def register_unanswered(self) -> None:
        """A registration that is stored but answered 503."""
        self.store.times_out = True
        with pytest.raises(DependencyUnavailable):
            await self.register()
        self.store.times_out = False
        assert len(self.store.documents) == 1


async def test_a_registration_retried_after_an_unknown_outcome_gets_the_account_it_made() -> None:
    world = World()
    await world.register_unanswered()
    first = next(iter(world.store.documents.values()))["user"]
    assert await world.register() == first
    assert await world.register(username="ALICE") == first, "the name as normalized"
    assert len(world.store.documents) == 1


async def test_a_retry_with_another_password_still_meets_a_taken_name() -> None:
    world = World()
    await world.register_unanswered()
    with pytest.raises(Duplicate):
        await world.register(password="someone else's secret")


async def test_a_timed_out_attempt_at_a_taken_name_never_makes_that_account_answer() -> None:
    """Else anyone could turn /register into a password oracle for an existing account: time
    out one attempt at its name, then learn from 201 or 409 whether a guess is right."""
    world = World()
    await world.register()  # the owner's account, answered
    world.store.times_out_before_writing = True
    with pytest.raises(DependencyUnavailable):
        await world.register(password="an attacker's password")
    world.store.times_out_before_writing = False
    before = world.runner.calls
    guesses = (PASSWORD, "an attacker's password", "another guess here")
    for password in guesses:
        with pytest.raises(Duplicate):
            await world.register(password=password)
    # One bcrypt call per attempt, its own hash: no password was checked against the account,
    # so neither the answer nor its timing says anything about a guess.
    assert world.runner.calls - before == len(guesses)


async def test_a_repeat_of_an_answered_registration_is_still_a_duplicate() -> None:
    world = World()
    await world.register()
    with pytest.raises(Duplicate):
        await world.register()


async def test_the_unknown_outcome_is_forgotten_after_its_time() -> None:
    world = World()
    await world.register_unanswered()
    await world.clock.advance(UNKNOWN_SECONDS + 1)
    with pytest.raises(Duplicate):
        await world.register()


async def test_no_recovery_when_its_time_is_zero() -> None:
    world = World(unknown_seconds=0)
    await world.register_unanswered()
    with pytest.raises(Duplicate):
        await world.register()


async def test_wrong_guesses_count_against_the_accounts_login_limit() -> None:
    world = World()
    await world.register_unanswered()
    for i in range(ACCOUNT_LIMIT):
        with pytest.raises(Duplicate):
            await world.register(password=f"guess number {i}")
    with pytest.raises(Duplicate):  # past the limit, even the right password: a plain 409
        await world.register()
    with pytest.raises(RateLimited):
        await world.accounts.login({"username": "alice", "password": PASSWORD}, CLIENT)


async def test_a_right_retry_does_not_use_up_the_accounts_limit() -> None:
    world = World()
    await world.register_unanswered()
    first = next(iter(world.store.documents.values()))["user"]
    for _ in range(ACCOUNT_LIMIT + 1):
        assert await world.register() == first


async def test_a_password_change_whose_answer_was_lost_is_retried_as_not_logged_in() -> None:
    world = World()
    await world.register()
    login = await world.accounts.login({"username": "alice", "password": PASSWORD}, CLIENT)
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    await world.accounts.edit(login.token, change)
    # The retry never reaches the password check, so it is never "wrong password" (403): the
    # change ended the session it came with, and the client logs in with the new password.
    with pytest.raises(NotAuthenticated):
        await world.accounts.edit(login.token, change)
    again = {"username": "alice", "password": NEW_PASSWORD}
    assert (await world.accounts.login(again, CLIENT)).user.username == "alice"
