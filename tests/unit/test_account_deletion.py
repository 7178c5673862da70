"""The account deletion service against in-memory fakes."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from factsvc.errors import (
    BadCredentials,
    DeletionInterrupted,
    DependencyUnavailable,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WrongOldPassword,
)
from factsvc.services.account_deletion import AccountDeletionService
from factsvc.services.accounts import AccountService
from factsvc.services.idempotency import IdempotencyService, Outcome, registration_scope
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import now_utc
from tests.contract.subjects import ManualClock
from tests.support.fake_avatar_store import FakeAvatarStore
from tests.support.fake_idempotency_store import FakeIdempotencyStore
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner
from tests.support.limits import attempt_limits_with

pytestmark = pytest.mark.gen_test

PASSWORD = "correct horse battery"
CLIENT = "192.0.2.1"
ACCOUNT_LIMIT = 3


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.store = FakeAccountStore()
        self.session_store = FakeSessionStore(self.clock)
        self.counters = FakeCounterStore(self.clock)
        self.avatars = FakeAvatarStore()
        hasher = PasswordHasher(InlineRunner(), rounds=4, pepper="pepper")
        sessions = SessionService(
            self.session_store, idle_seconds=600, absolute_seconds=3600, clock=self.clock
        )
        self.deletion_sessions = sessions
        limits = attempt_limits_with(
            per_account=Limit("a", ACCOUNT_LIMIT, 3600),
            per_client=Limit("c", 50, 900),
            registrations_per_client=Limit("r", 50, 3600),
        )
        self.accounts = AccountService(
            store=self.store,
            hasher=hasher,
            sessions=sessions,
            limiter=RateLimiter(self.counters),
            limits=limits,
            common_passwords=frozenset(),
        )
        self.idempotency = IdempotencyService(
            FakeIdempotencyStore(self.clock),
            secret=b"s" * 32,
            ttl_seconds=3600,
            unknown_seconds=60,
            keys_per_scope=10,
        )
        self.deletion = AccountDeletionService(
            store=self.store,
            hasher=hasher,
            sessions=sessions,
            limiter=RateLimiter(self.counters),
            per_account=limits.per_account,
            avatars=self.avatars,
            idempotency=self.idempotency,
        )

    async def register(self, password: str = PASSWORD, key: str = "first-key-0123456789") -> str:
        """Register alice, with an avatar, as a client that sends an Idempotency-Key would."""
        body = {"username": "alice", "password": password}

        async def register() -> Outcome:
            user = await self.accounts.register(body, CLIENT)
            return Outcome({"status": 201, "payload": {"id": user.id}})

        answer = await self.idempotency.once(registration_scope(body), key, body, register)
        user_id = str(answer["payload"]["id"])
        if not self.avatars.owned_by(user_id):
            await self.avatars.put(user_id, b"RIFF-webp", "image/webp")
        return user_id

    async def login(self, password: str = PASSWORD) -> str:
        body = {"username": "alice", "password": password}
        return (await self.accounts.login(body, CLIENT)).token

    def account_failures(self) -> int:
        """The failures counted against accounts (the "a" limit), all names together."""
        return sum(n for key, n in self.counters.counts.items() if key.startswith("a:"))

    async def delete(self, token: str | None, password: str = PASSWORD) -> None:
        await self.deletion.delete(token, {"password": password})


async def test_a_deletion_removes_the_account_its_avatar_and_every_session() -> None:
    world = World()
    user_id = await world.register()
    token, other = await world.login(), await world.login()
    await world.delete(token)
    assert world.store.documents == {}
    assert world.avatars.files == {}
    for gone in (token, other):
        with pytest.raises(NotAuthenticated):
            await world.accounts.info(gone)
    assert world.session_store.by_user.get(user_id, set()) == set()
    assert world.session_store.records == {}


async def test_after_a_deletion_login_fails_as_for_an_unknown_user() -> None:
    world = World()
    await world.register()
    await world.delete(await world.login())
    with pytest.raises(BadCredentials) as deleted:
        await world.login()
    with pytest.raises(BadCredentials) as stranger:
        await world.accounts.login({"username": "nobody", "password": PASSWORD}, CLIENT)
    assert type(deleted.value) is type(stranger.value)
    assert str(deleted.value) == str(stranger.value)


async def test_the_username_is_free_again_for_a_new_account_with_a_new_id() -> None:
    world = World()
    old_id = await world.register()
    await world.delete(await world.login())
    new_id = await world.register(password="another fine secret")
    assert new_id != old_id
    token = await world.login(password="another fine secret")
    user = await world.accounts.info(token)
    assert (user.id, user.username) == (new_id, "alice")
    assert world.avatars.owned_by(old_id) == set()


async def test_a_registration_retried_with_its_key_after_deletion_makes_a_new_account() -> None:
    world = World()
    old_id = await world.register()
    assert await world.register() == old_id, "a retry of the registration is answered"
    await world.delete(await world.login())
    new_id = await world.register()
    assert new_id != old_id
    assert (await world.accounts.info(await world.login())).id == new_id


async def test_a_wrong_password_is_refused_counted_and_changes_nothing() -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    with pytest.raises(WrongOldPassword):
        await world.delete(token, "not the password")
    assert user_id in world.store.documents
    assert len(world.avatars.owned_by(user_id)) == 1
    assert (await world.accounts.info(token)).id == user_id
    assert world.account_failures() == 1


async def test_wrong_passwords_share_the_limit_of_failed_logins_and_get_429_past_it() -> None:
    world = World()
    await world.register()
    token = await world.login()
    with pytest.raises(BadCredentials):
        await world.login("not the password")
    for _ in range(ACCOUNT_LIMIT - 1):
        with pytest.raises(WrongOldPassword):
            await world.delete(token, "not the password")
    with pytest.raises(RateLimited) as limited:
        await world.delete(token)  # even the right one, until the window ends
    assert limited.value.retry_after_seconds > 0
    with pytest.raises(RateLimited):
        await world.login()
    assert world.store.documents


async def test_the_old_accounts_failures_do_not_reach_a_new_account_of_the_name() -> None:
    world = World()
    await world.register()
    token = await world.login()
    for _ in range(ACCOUNT_LIMIT - 1):
        with pytest.raises(WrongOldPassword):
            await world.delete(token, "not the password")
    await world.delete(token)
    await world.register()
    for _ in range(ACCOUNT_LIMIT - 1):
        with pytest.raises(BadCredentials):
            await world.login("not the password")
    assert await world.login()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "password"),
        ({"password": ""}, "password"),
        ({"password": 12345678}, "password"),
        ({"password": {"$ne": None}}, "password"),
        ({"password": "p" * 129}, "password"),
        ({"password": PASSWORD, "user_id": "0" * 24}, "user_id"),
    ],
)
async def test_a_bad_body_is_refused_before_the_password_is_checked(
    body: Mapping[str, object], field: str
) -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    with pytest.raises(InvalidInput) as refused:
        await world.deletion.delete(token, body)
    assert field in refused.value.errors
    assert user_id in world.store.documents
    assert world.account_failures() == 0


@pytest.mark.parametrize("token", [None, "", "x" * 47, "A" * 43 + "0000"])
async def test_without_a_live_session_nothing_is_deleted(token: str | None) -> None:
    world = World()
    await world.register()
    with pytest.raises(NotAuthenticated):
        await world.delete(token)
    assert world.store.documents


async def test_without_redis_the_deletion_is_unavailable_and_changes_nothing() -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    world.session_store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.delete(token)
    world.session_store.available = True
    assert user_id in world.store.documents
    assert (await world.accounts.info(token)).id == user_id


async def test_without_mongodb_the_deletion_is_unavailable_and_changes_nothing() -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    world.store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.delete(token)
    world.store.available = True
    assert len(world.avatars.owned_by(user_id)) == 1
    assert (await world.accounts.info(token)).id == user_id


async def test_an_outage_after_the_sessions_ended_says_when_a_login_works_again() -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    world.avatars.available = False
    with pytest.raises(DeletionInterrupted) as interrupted:
        await world.delete(token)
    world.avatars.available = True
    assert await world.deletion_sessions.resolve(token) is None
    with pytest.raises(BadCredentials):
        await world.login()  # the fence's change time: a login is refused
    await world.clock.advance(interrupted.value.retry_after_seconds)
    await world.delete(await world.login())
    assert user_id not in world.store.documents
    assert world.avatars.owned_by(user_id) == set()


async def test_an_upload_stored_after_the_avatar_files_went_goes_with_the_account() -> None:
    # An upload whose session was checked before the deletion ended it stores its file and
    # names it on the account between the removal of the files and of the account: nothing
    # would point to that file any more, and it would be served for good.
    world = World()
    user_id = await world.register()
    token = await world.login()
    remove_files = world.avatars.delete_owned_by
    landed: list[str] = []

    async def and_then_an_upload_lands(owner: str) -> None:
        await remove_files(owner)
        if not landed:
            landed.append(await world.avatars.put(owner, b"RIFF-late", "image/webp"))
            assert await world.store.set_avatar(owner, landed[0], now_utc()) is not None

    world.avatars.delete_owned_by = and_then_an_upload_lands  # type: ignore[method-assign]
    await world.delete(token)
    assert landed
    assert user_id not in world.store.documents
    assert world.avatars.owned_by(user_id) == set()


async def test_an_outage_once_the_account_is_deleted_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    remove_files = world.avatars.delete_owned_by
    calls: list[str] = []

    async def fails_the_second_time(owner: str) -> None:
        calls.append(owner)
        if len(calls) > 1:
            raise DependencyUnavailable({"mongodb": "unavailable"})
        await remove_files(owner)

    world.avatars.delete_owned_by = fails_the_second_time  # type: ignore[method-assign]
    await world.delete(token)
    assert user_id not in world.store.documents
    assert len(calls) == 2
    assert f"avatar files of deleted account {user_id} may be left" in caplog.text


async def test_a_deletion_is_a_security_event(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    user_id = await world.register()
    token = await world.login()
    caplog.set_level(logging.INFO, logger="factsvc.security")
    with pytest.raises(WrongOldPassword):
        await world.delete(token, "not the password")
    await world.delete(token)
    events = [getattr(r, "event", None) for r in caplog.records]
    assert "account_deletion_refused" in events
    (deleted,) = [r for r in caplog.records if getattr(r, "event", None) == "account_deleted"]
    assert getattr(deleted, "user", None) == user_id
    assert PASSWORD not in caplog.text
