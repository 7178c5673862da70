"""The account service against in-memory fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypeVar

import pytest

from factsvc.errors import (
    BadCredentials,
    DependencyUnavailable,
    Duplicate,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WrongOldPassword,
)
from factsvc.services.accounts import AccountService
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.logins import LoginResult
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import RANDOM_LENGTH, SessionService
from factsvc.services.users import User
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner
from tests.support.limits import attempt_limits_with

pytestmark = pytest.mark.gen_test

T = TypeVar("T")
PASSWORD = "correct horse battery"
CLIENT = "192.0.2.1"


class InterleavingRunner(InlineRunner):
    """Runs each blocking function after yielding to the loop, so that concurrent use cases
    interleave as they do on the bcrypt threads: all of them have started before any ends."""

    async def run(self, function: Callable[..., T], *args: object) -> T:
        await asyncio.sleep(0.001)
        return await super().run(function, *args)


class World:
    def __init__(
        self,
        rounds: int = 4,
        account_limit: int = 5,
        client_limit: int = 8,
        runner: InlineRunner | None = None,
    ) -> None:
        self.store = FakeAccountStore()
        self.session_store = FakeSessionStore()
        self.counters = FakeCounterStore()
        self.runner = runner or InlineRunner()
        self.now = 1_000_000.0
        self.sessions = SessionService(
            self.session_store, idle_seconds=600, absolute_seconds=3600, clock=lambda: self.now
        )
        self.accounts = AccountService(
            store=self.store,
            hasher=PasswordHasher(self.runner, rounds=rounds, pepper="pepper"),
            sessions=self.sessions,
            limiter=RateLimiter(self.counters),
            limits=attempt_limits_with(
                per_account=Limit("a", account_limit, 3600),
                per_client=Limit("c", client_limit, 900),
                registrations_per_client=Limit("r", 50, 3600),
            ),
            common_passwords=frozenset({"password", "12345678", "iloveyou"}),
        )

    async def register(
        self, username: str = "alice", password: str = PASSWORD, **extra: object
    ) -> User:
        return await self.accounts.register(
            {"username": username, "password": password, **extra}, CLIENT
        )

    async def login(
        self, username: str = "alice", password: str = PASSWORD, token: str | None = None
    ) -> LoginResult:
        return await self.accounts.login(
            {"username": username, "password": password},
            CLIENT,
            presented=[token] if token is not None else [],
        )

    def stored_hash(self, username: str = "alice") -> str:
        return next(
            d["password_hash"] for d in self.store.documents.values() if d["username"] == username
        )


async def test_register_normalizes_the_username_and_fills_defaults() -> None:
    world = World()
    user = await world.register("Alice_9")
    assert (user.username, user.nickname, user.gender) == ("alice_9", "alice_9", "i")
    assert set(user.public()) == {
        "id",
        "username",
        "nickname",
        "gender",
        "create_time",
        "update_time",
        "avatar_url",
        "email",
        "email_verified",
    }
    assert user.public()["avatar_url"] is None
    create_time = user.public()["create_time"]
    assert isinstance(create_time, str)
    assert create_time.endswith("Z")


async def test_register_stores_a_bcrypt_hash_of_the_configured_cost_never_the_password() -> None:
    world = World(rounds=5)
    await world.register()
    stored = world.stored_hash()
    assert stored.startswith("$2b$05$")
    assert PASSWORD not in stored


async def test_usernames_are_unique_whatever_their_case() -> None:
    world = World()
    await world.register("alice")
    with pytest.raises(Duplicate):
        await world.register("ALICE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "al", "password": PASSWORD}, "username"),
        ({"username": "a" * 21, "password": PASSWORD}, "username"),
        ({"username": "9lives", "password": PASSWORD}, "username"),
        ({"username": "ali ce", "password": PASSWORD}, "username"),
        ({"username": "alicé", "password": PASSWORD}, "username"),
        ({"username": {"$ne": None}, "password": PASSWORD}, "username"),
        ({"username": ["alice"], "password": PASSWORD}, "username"),
        ({"username": "alice", "password": "seven77"}, "password"),
        ({"username": "alice", "password": "x" * 129}, "password"),
        ({"username": "alice", "password": "password"}, "password"),
        ({"username": "alice", "password": "PassWord"}, "password"),
        ({"username": "alice12345", "password": "ALICE12345"}, "password"),
        ({"username": "alice", "password": 12345678}, "password"),
        ({"username": "alice", "password": {"$gt": ""}}, "password"),
        ({"username": "alice", "password": "\ud800" * 8}, "password"),
        ({"username": "alice", "password": PASSWORD, "nickname": ""}, "nickname"),
        ({"username": "alice", "password": PASSWORD, "nickname": "n" * 21}, "nickname"),
        ({"username": "alice", "password": PASSWORD, "nickname": "evil\nline"}, "nickname"),
        ({"username": "alice", "password": PASSWORD, "nickname": 7}, "nickname"),
        ({"username": "alice", "password": PASSWORD, "gender": "x"}, "gender"),
        ({"username": "alice", "password": PASSWORD, "password_hash": "$2b$"}, "password_hash"),
        ({"username": "alice", "password": PASSWORD, "_id": "x"}, "_id"),
        ({"password": PASSWORD}, "username"),
        ({"username": "alice"}, "password"),
    ],
)
async def test_register_refuses_bad_fields_and_stores_nothing(
    body: Mapping[str, object], field: str
) -> None:
    world = World()
    with pytest.raises(InvalidInput) as caught:
        await world.accounts.register(body, CLIENT)
    assert field in caught.value.errors
    assert world.store.documents == {}


@pytest.mark.parametrize(
    "password",
    ["p" * 72, "p" * 73, "p" * 128, "é" * 64, "密" * 70, "emoji 🙂 " * 10, "tab\there ok"],
)
async def test_long_and_non_ascii_passwords_work_in_full(password: str) -> None:
    world = World()
    await world.register(password=password)
    assert (await world.login(password=password)).token
    with pytest.raises(BadCredentials):
        await world.login(password=password[:-1] + ("q" if password[-1] != "q" else "r"))


async def test_passwords_sharing_a_72_byte_prefix_are_different_passwords() -> None:
    world = World()
    await world.register(password="a" * 72 + "first")
    with pytest.raises(BadCredentials):
        await world.login(password="a" * 72 + "second")


async def test_passwords_are_never_stripped() -> None:
    world = World()
    await world.register(password=" secret words ")
    with pytest.raises(BadCredentials):
        await world.login(password="secret words")
    assert (await world.login(password=" secret words ")).token


async def test_unknown_user_and_wrong_password_fail_alike_and_both_pay_for_a_hash() -> None:
    world = World()
    await world.register()
    calls = world.runner.calls
    with pytest.raises(BadCredentials) as wrong:
        await world.login(password="wrong password")
    wrong_calls = world.runner.calls - calls
    with pytest.raises(BadCredentials) as unknown:
        await world.login(username="nobody", password="wrong password")
    assert type(wrong.value) is type(unknown.value)
    assert world.runner.calls - calls - wrong_calls >= wrong_calls


async def test_repeated_failures_on_one_account_are_rate_limited() -> None:
    world = World(account_limit=3)
    await world.register()
    for _ in range(3):
        with pytest.raises(BadCredentials):
            await world.login(password="wrong password")
    with pytest.raises(RateLimited) as caught:
        await world.login(password=PASSWORD)
    assert caught.value.retry_after_seconds >= 1


async def test_repeated_failures_from_one_client_are_limited_across_accounts() -> None:
    world = World(account_limit=100, client_limit=4)
    for i in range(4):
        with pytest.raises(BadCredentials):
            await world.login(username=f"user{i}", password="wrong password")
    with pytest.raises(RateLimited):
        await world.login(username="someone", password="wrong password")


async def test_a_successful_login_clears_the_account_failure_count() -> None:
    world = World(account_limit=3)
    await world.register()
    for _ in range(2):
        with pytest.raises(BadCredentials):
            await world.login(password="wrong password")
    await world.login()
    for _ in range(2):
        with pytest.raises(BadCredentials):
            await world.login(password="wrong password")
    assert (await world.login()).token


async def test_login_upgrades_a_hash_of_a_lower_cost() -> None:
    world = World(rounds=5)
    await world.register()
    document = next(iter(world.store.documents.values()))
    low = PasswordHasher(InlineRunner(), rounds=4, pepper="pepper")
    document["password_hash"] = await low.hash(PASSWORD)
    await world.login()
    assert world.stored_hash().startswith("$2b$05$")
    assert (await world.login()).token


async def test_login_ends_the_session_it_was_given() -> None:
    world = World()
    await world.register()
    first = await world.login()
    second = await world.login(token=first.token)
    assert second.token != first.token
    assert await world.accounts.current_user(first.token) is None
    assert await world.accounts.current_user(second.token) is not None


# Well-formed (TOKEN_PATTERN), yet no session's.
INVENTED = "A" * RANDOM_LENGTH + "0000"


async def test_an_unknown_token_is_refused_not_adopted() -> None:
    world = World()
    await world.register()
    invented = INVENTED
    result = await world.login(token=invented)
    assert result.token != invented
    with pytest.raises(NotAuthenticated):
        await world.accounts.info(invented)


async def test_login_ends_every_session_presented() -> None:
    world = World()
    await world.register()
    await world.register("mallory")
    first, second = (await world.login()).token, (await world.login()).token
    others = (await world.login("mallory")).token
    presented = [first, INVENTED, second, others, first]
    body = {"username": "alice", "password": PASSWORD}
    result = await world.accounts.login(body, CLIENT, presented=presented)
    for token in (first, second, others):
        assert await world.accounts.current_user(token) is None
    assert await world.accounts.current_user(result.token) is not None
    assert len(world.session_store.records) == 1


async def test_logout_ends_every_session_presented_and_needs_one_live() -> None:
    world = World()
    await world.register()
    await world.register("mallory")
    first, second = (await world.login()).token, (await world.login()).token
    others = (await world.login("mallory")).token
    kept = (await world.login()).token
    await world.accounts.logout([INVENTED, first, second, others, first])
    for token in (first, second, others):
        assert await world.accounts.current_user(token) is None
    assert await world.accounts.current_user(kept) is not None
    for presented in ([], [INVENTED], [first, "junk"]):
        with pytest.raises(NotAuthenticated):
            await world.accounts.logout(presented)
    assert await world.accounts.current_user(kept) is not None


async def test_logout_ends_the_session() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    await world.accounts.logout([token])
    with pytest.raises(NotAuthenticated):
        await world.accounts.info(token)
    with pytest.raises(NotAuthenticated):
        await world.accounts.logout([token])


async def test_sessions_end_after_their_absolute_lifetime_even_when_used() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    for _ in range(7):
        world.now += 500  # always within the idle timeout
        if world.now < 1_000_000 + 3600:
            assert (await world.accounts.info(token)).username == "alice"
    world.now = 1_000_000 + 3601
    with pytest.raises(NotAuthenticated):
        await world.accounts.info(token)


async def test_each_use_restarts_the_idle_timer() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    key = next(iter(world.session_store.records))
    world.session_store.ttls[key] = 1
    await world.accounts.info(token)
    assert world.session_store.ttls[key] == 600


async def test_edit_changes_only_the_allowed_fields() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    result = await world.accounts.edit(token, {"nickname": "Al", "gender": "f"})
    assert (result.user.nickname, result.user.gender, result.new_token) == ("Al", "f", None)
    assert result.user.update_time >= result.user.create_time


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": "ok", "username": "mallory"},
        {"nickname": "ok", "password_hash": "$2b$04$xxxx"},
        {"nickname": {"$set": {"username": "x"}}},
        {"gender": "robot"},
        {"nickname": "ok", "old_password": PASSWORD},
        {"password": "a brand new secret"},
        {},
    ],
)
async def test_a_bad_edit_changes_nothing(body: Mapping[str, object]) -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    before = dict(next(iter(world.store.documents.values())))
    with pytest.raises(InvalidInput):
        await world.accounts.edit(token, body)
    assert next(iter(world.store.documents.values())) == before


async def test_a_password_change_needs_the_old_password() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    with pytest.raises(WrongOldPassword):
        await world.accounts.edit(token, {"password": "a brand new secret", "old_password": "nope"})
    assert (await world.login()).token


async def test_a_password_change_ends_other_sessions_and_rotates_this_one() -> None:
    world = World()
    await world.register()
    other = (await world.login()).token
    this = (await world.login()).token
    result = await world.accounts.edit(
        this, {"password": "a brand new secret", "old_password": PASSWORD}
    )
    assert result.new_token not in (None, this, other)
    for old in (this, other):
        with pytest.raises(NotAuthenticated):
            await world.accounts.info(old)
    assert (await world.accounts.info(result.new_token)).username == "alice"
    with pytest.raises(BadCredentials):
        await world.login()
    assert (await world.login(password="a brand new secret")).token


async def test_current_user_falls_back_to_the_session_when_mongodb_is_down() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    world.store.available = False
    user = await world.accounts.current_user(token)
    assert user is not None
    assert user.username == "alice"
    with pytest.raises(DependencyUnavailable):
        await world.accounts.info(token)


async def test_session_failures_never_let_a_request_through() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    world.session_store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.accounts.info(token)
    with pytest.raises(DependencyUnavailable):
        await world.accounts.current_user(token)


async def test_registration_is_hashed_before_the_uniqueness_check() -> None:
    world = World()
    await world.register()
    calls = world.runner.calls
    with pytest.raises(Duplicate):
        await world.register()
    assert world.runner.calls > calls


async def test_concurrent_failures_cannot_exceed_the_limit() -> None:
    world = World(account_limit=100, client_limit=3)
    await world.register()
    results = await asyncio.gather(
        *(world.login(password="wrong password") for _ in range(10)), return_exceptions=True
    )
    kinds = sorted(type(result).__name__ for result in results)
    assert kinds == ["BadCredentials"] * 3 + ["RateLimited"] * 7


async def test_a_success_counts_nothing_and_keeps_the_clients_earlier_failures() -> None:
    world = World(account_limit=100, client_limit=3)
    await world.register()
    for _ in range(2):
        with pytest.raises(BadCredentials):
            await world.login(username="nobody", password="wrong password")
    await world.login()
    with pytest.raises(BadCredentials):
        await world.login(username="nobody", password="wrong password")
    with pytest.raises(RateLimited):
        await world.login(username="nobody", password="wrong password")


async def test_concurrent_valid_logins_from_one_client_are_never_limited() -> None:
    world = World(account_limit=3, client_limit=3, runner=InterleavingRunner())
    await world.register()
    results = await asyncio.gather(*(world.login() for _ in range(10)), return_exceptions=True)
    assert [type(result).__name__ for result in results] == ["LoginResult"] * 10


async def test_concurrent_wrong_guesses_are_judged_no_more_often_than_the_limit() -> None:
    world = World(account_limit=100, client_limit=3, runner=InterleavingRunner())
    await world.register()
    calls = world.runner.calls
    results = await asyncio.gather(
        *(world.login(password="wrong password") for _ in range(10)), return_exceptions=True
    )
    kinds = sorted(type(result).__name__ for result in results)
    assert kinds == ["BadCredentials"] * 3 + ["RateLimited"] * 7
    assert world.runner.calls - calls == 3, "a refused guess is never checked"


async def test_valid_logins_racing_wrong_guesses_fail_only_once_the_guesses_lock_the_client() -> (
    None
):
    world = World(account_limit=100, client_limit=3, runner=InterleavingRunner())
    await world.register()
    await world.register("bob")
    attempts = [
        world.login() if i % 2 == 0 else world.login("bob", password="wrong password")
        for i in range(12)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    kinds = [type(result).__name__ for result in results]
    assert kinds.count("BadCredentials") == 3
    assert set(kinds[::2]) <= {"LoginResult", "RateLimited"}
    # The three failures locked the client: the right password is refused now too.
    with pytest.raises(RateLimited):
        await world.login()


async def test_the_account_lock_refuses_the_right_password_from_any_client() -> None:
    world = World(account_limit=3, client_limit=100)
    await world.register()
    for _ in range(3):
        with pytest.raises(BadCredentials):
            await world.login(password="wrong password")
    with pytest.raises(RateLimited):
        await world.accounts.login({"username": "alice", "password": PASSWORD}, "198.51.100.9")


async def test_a_login_that_fails_on_a_dependency_counts_no_failure() -> None:
    world = World(account_limit=1, client_limit=1)
    await world.register()
    world.store.available = False
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            await world.login(password="wrong password")
    world.store.available = True
    assert (await world.login()).token


async def test_concurrent_wrong_old_passwords_are_judged_no_more_often_than_the_limit() -> None:
    world = World(account_limit=3, runner=InterleavingRunner())
    await world.register()
    token = (await world.login()).token
    change = {"password": "new secret words", "old_password": "wrong password"}
    results = await asyncio.gather(
        *(world.accounts.edit(token, change) for _ in range(8)), return_exceptions=True
    )
    kinds = sorted(type(result).__name__ for result in results)
    assert kinds == ["RateLimited"] * 5 + ["WrongOldPassword"] * 3


async def test_registrations_from_one_client_are_rate_limited() -> None:
    world = World()
    limits = world.accounts._limits  # the same limits, with a small registration allowance
    world.accounts._limits = replace(limits, registrations_per_client=Limit("r", 2, 3600))
    await world.register("first")
    await world.register("second")
    with pytest.raises(RateLimited):
        await world.register("third")


async def test_guesses_at_the_old_password_are_rate_limited() -> None:
    world = World(account_limit=3)
    await world.register()
    token = (await world.login()).token
    for _ in range(3):
        with pytest.raises(WrongOldPassword):
            await world.accounts.edit(token, {"password": "new secret words", "old_password": "no"})
    with pytest.raises(RateLimited):
        await world.accounts.edit(token, {"password": "new secret words", "old_password": PASSWORD})


async def test_a_new_password_equal_to_the_username_is_refused() -> None:
    world = World()
    await world.register("alice12345")
    token = (await world.login("alice12345")).token
    with pytest.raises(InvalidInput) as caught:
        await world.accounts.edit(token, {"password": "Alice12345", "old_password": PASSWORD})
    assert "password" in caught.value.errors


@pytest.mark.parametrize(
    "nickname", ["line\u2028break", "para\u2029graph", "bidi\u202e", "nul\x00"]
)
async def test_nicknames_cannot_carry_line_breaks_or_invisible_controls(nickname: str) -> None:
    world = World()
    with pytest.raises(InvalidInput):
        await world.register(nickname=nickname)


async def test_an_ended_session_is_not_brought_back_by_a_late_edit() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    session = await world.sessions.resolve(token)
    assert session is not None
    await world.accounts.logout([token])
    await world.sessions.refresh_snapshot(session, {"id": "x"})
    assert world.session_store.records == {}
    with pytest.raises(NotAuthenticated):
        await world.accounts.info(token)


async def test_an_edit_updates_the_users_copy_in_the_session() -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    await world.accounts.edit(token, {"nickname": "Renamed"})
    world.store.available = False
    user = await world.accounts.current_user(token)
    assert user is not None
    assert user.nickname == "Renamed"


async def test_the_pepper_is_part_of_the_hash() -> None:
    one = PasswordHasher(InlineRunner(), rounds=4, pepper="pepper one")
    two = PasswordHasher(InlineRunner(), rounds=4, pepper="pepper two")
    hashed = await one.hash(PASSWORD)
    assert await one.verify(PASSWORD, hashed)
    assert not await two.verify(PASSWORD, hashed)


async def test_refusals_give_one_reason_per_field() -> None:
    world = World()
    with pytest.raises(InvalidInput) as caught:
        await world.accounts.register(
            {"username": "9lives", "password": "iloveyou", "x": 1}, CLIENT
        )
    assert caught.value.errors == {
        "x": "is not an accepted field",
        "username": "must be 3-20 ASCII letters, digits or '_', starting with a letter",
        "password": "is too common; choose another",
    }
    await world.register()
    token = (await world.login()).token
    with pytest.raises(InvalidInput) as caught:
        await world.accounts.edit(token, {"old_password": PASSWORD, "nickname": " Al"})
    assert caught.value.errors == {
        "nickname": "must not contain control characters or surrounding spaces",
        "old_password": "is only accepted with a new password or email address",
    }


async def test_a_session_keeps_a_versioned_copy_of_the_user_not_the_api_shape() -> None:
    world = World()
    user = await world.register()
    await world.login()
    (record,) = world.session_store.records.values()
    assert record["user"]["v"] == 1
    assert record["user"] != user.public()


@pytest.mark.parametrize("copy", [{"v": 99, "id": "x"}, "not a record", None, {}])
async def test_an_unreadable_copy_of_the_user_neither_ends_the_session_nor_fails(
    copy: object,
) -> None:
    world = World()
    await world.register()
    token = (await world.login()).token
    (key,) = world.session_store.records
    world.session_store.records[key] = {**world.session_store.records[key], "user": copy}
    assert (await world.accounts.info(token)).username == "alice"
    world.store.available = False
    assert await world.accounts.current_user(token) is None


async def test_a_session_saved_with_the_older_public_shape_still_answers_without_mongodb() -> None:
    world = World()
    user = await world.register()
    token = (await world.login()).token
    (key,) = world.session_store.records
    world.session_store.records[key] = {**world.session_store.records[key], "user": user.public()}
    world.store.available = False
    assert await world.accounts.current_user(token) == user
