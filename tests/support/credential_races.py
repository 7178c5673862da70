"""Logins and password changes raced step by step: gates that hold one call of a port or the
hasher until the test lets it go, and the scenarios that the unit (fakes) and integration
(Redis and MongoDB) tests both run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from factsvc.errors import BadCredentials, DependencyUnavailable, NotAuthenticated
from factsvc.services.account_store import AccountStore
from factsvc.services.accounts import AccountService, EditResult
from factsvc.services.limits import CounterStore, Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService, SessionStore, session_key
from factsvc.services.users import User, now_utc
from tests.support.fakes import InlineRunner
from tests.support.limits import attempt_limits_with

OLD = "correct horse battery"
NEW = "a brand new secret"
# Short, so that the real-server runs can wait it out.
CHANGE_SECONDS = 0.3
ROUNDS = 5


def _replace(target: object, method: str, replacement: Callable[..., Awaitable[Any]]) -> None:
    # On this one object only: the port's other users and the class stay as they are.
    setattr(target, method, replacement)


class Gate:
    """Holds the first call that passes it until release(); `reached` is set once it waits."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._released = asyncio.Event()
        self._used = False

    async def passing(self) -> None:
        if not self._used:
            self._used = True
            self.reached.set()
            await self._released.wait()

    def release(self) -> None:
        self._released.set()


def hold(target: object, method: str, *, after: bool) -> Gate:
    """Make the next call of target.method wait at a gate, before it runs or after it returns."""
    gate = Gate()
    original = getattr(target, method)

    async def held(*args: Any, **kwargs: Any) -> Any:
        if not after:
            await gate.passing()
        result = await original(*args, **kwargs)
        if after:
            await gate.passing()
        return result

    _replace(target, method, held)
    return gate


def fail_after(target: object, method: str) -> None:
    """Make target.method run, then fail as an outage does: an outcome the caller cannot know."""
    original = getattr(target, method)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)
        raise DependencyUnavailable({"mongodb": "unavailable"})

    _replace(target, method, failing)


def fail_before(target: object, method: str) -> None:
    """Make target.method fail as an outage does, without running."""

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise DependencyUnavailable({"mongodb": "unavailable"})

    _replace(target, method, failing)


@dataclass
class Race:
    """The account service over the given stores, with bcrypt at cost ROUNDS run inline, and a
    record of every session the store saved. `wait(seconds)` lets that much time pass."""

    account_store: AccountStore
    session_store: SessionStore
    hasher: PasswordHasher
    accounts: AccountService
    wait: Callable[[float], Awaitable[object]]
    opened: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        account_store: AccountStore,
        session_store: SessionStore,
        counters: CounterStore,
        wait: Callable[[float], Awaitable[object]],
        clock: Callable[[], float] | None = None,
    ) -> Race:
        hasher = PasswordHasher(InlineRunner(), rounds=ROUNDS, pepper="pepper")
        timing: dict[str, Any] = {} if clock is None else {"clock": clock}
        sessions = SessionService(
            session_store,
            idle_seconds=600,
            absolute_seconds=3600,
            change_seconds=CHANGE_SECONDS,
            **timing,
        )
        limit = Limit("a", 100, 3600)
        accounts = AccountService(
            store=account_store,
            hasher=hasher,
            sessions=sessions,
            limiter=RateLimiter(counters),
            limits=attempt_limits_with(
                per_account=limit, per_client=limit, registrations_per_client=limit
            ),
            common_passwords=frozenset(),
        )
        race = cls(account_store, session_store, hasher, accounts, wait)
        race._record_saves()
        return race

    def _record_saves(self) -> None:
        save = self.session_store.save

        async def recording(key: str, *args: Any, **kwargs: Any) -> Any:
            refused = await save(key, *args, **kwargs)
            if refused is None:
                self.opened.append(key)
            return refused

        _replace(self.session_store, "save", recording)

    async def register(self) -> User:
        return await self.accounts.register({"username": "alice", "password": OLD}, "192.0.2.1")

    async def login(self, password: str = OLD) -> str:
        body = {"username": "alice", "password": password}
        return (await self.accounts.login(body, "192.0.2.1")).token

    async def change(self, token: str) -> EditResult:
        return await self.accounts.edit(token, {"password": NEW, "old_password": OLD})

    async def live_sessions(self) -> list[str]:
        """The keys of the saved sessions that are still there."""
        return [key for key in self.opened if await self.session_store.load(key, 600)]

    async def assert_only_session_is(self, token: str | None) -> None:
        expected = [] if token is None else [session_key(token)]
        assert await self.live_sessions() == expected
        if token is not None:
            assert (await self.accounts.info(token)).username == "alice"

    async def assert_password_is(self, password: str) -> None:
        other = NEW if password == OLD else OLD
        with pytest.raises(BadCredentials):
            await self.login(other)
        assert await self.accounts.info(await self.login(password))


# Where a login can be held while a password change runs from start to end.
LOGIN_PAUSES: dict[str, Callable[[Race], Gate]] = {
    "after_reading_the_account": lambda r: hold(r.account_store, "find_by_username", after=True),
    "after_verifying_the_password": lambda r: hold(r.hasher, "verify", after=True),
    "before_saving_the_session": lambda r: hold(r.session_store, "save", after=False),
}


async def a_login_held_while_the_password_changes_opens_no_session(
    race: Race, pause: str, resumed_late: bool
) -> None:
    await race.register()
    token = await race.login()
    gate = LOGIN_PAUSES[pause](race)
    login = asyncio.ensure_future(race.login())
    await gate.reached.wait()
    changed = await race.change(token)
    if resumed_late:
        await race.wait(CHANGE_SECONDS + 0.2)
    gate.release()
    with pytest.raises(BadCredentials):
        await login
    with pytest.raises(NotAuthenticated):
        await race.accounts.info(token)
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


async def a_login_done_before_the_change_ends_its_sessions_loses_its_session(race: Race) -> None:
    await race.register()
    token = await race.login()
    gate = hold(race.session_store, "retire_credentials", after=False)
    change = asyncio.ensure_future(race.change(token))
    await gate.reached.wait()
    during = await race.login()
    assert (await race.accounts.info(during)).username == "alice"
    gate.release()
    changed = await change
    with pytest.raises(NotAuthenticated):
        await race.accounts.info(during)
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


async def _a_login_with_the_old_password_is_refused_while_the_change_waits_at(
    race: Race, store: object, method: str
) -> None:
    await race.register()
    token = await race.login()
    gate = hold(store, method, after=False)
    change = asyncio.ensure_future(race.change(token))
    await gate.reached.wait()
    with pytest.raises(BadCredentials):
        await race.login()
    gate.release()
    changed = await change
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


async def a_login_between_retiring_and_storing_the_new_hash_is_refused(race: Race) -> None:
    await _a_login_with_the_old_password_is_refused_while_the_change_waits_at(
        race, race.account_store, "replace_credential"
    )


async def a_login_after_the_new_hash_is_stored_needs_the_new_password(race: Race) -> None:
    # The change waits to save its own new session: the new hash is already stored.
    await _a_login_with_the_old_password_is_refused_while_the_change_waits_at(
        race, race.session_store, "save"
    )


async def a_login_held_across_a_change_held_before_its_write_is_refused(race: Race) -> None:
    await race.register()
    token = await race.login()
    login_gate = hold(race.account_store, "find_by_username", after=True)
    login = asyncio.ensure_future(race.login())
    await login_gate.reached.wait()
    change_gate = hold(race.account_store, "replace_credential", after=False)
    change = asyncio.ensure_future(race.change(token))
    await change_gate.reached.wait()
    login_gate.release()
    with pytest.raises(BadCredentials):
        await login
    change_gate.release()
    changed = await change
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


async def a_change_that_never_stored_its_hash_leaves_the_old_password_working(
    race: Race,
) -> None:
    user = await race.register()
    token = await race.login()
    replace_credential = race.account_store.replace_credential
    fail_before(race.account_store, "replace_credential")
    with pytest.raises(DependencyUnavailable):
        await race.change(token)
    await race.assert_only_session_is(None)
    with pytest.raises(BadCredentials):
        await race.login()  # the change might still be writing
    await race.wait(CHANGE_SECONDS + 0.2)
    during = await race.login()
    late = await replace_credential(user.id, {"password_hash": "$2b$04$late"}, now_utc(), 0)
    assert late is None, "the failed change's write can no longer apply"
    await race.assert_only_session_is(during)
    await race.assert_password_is(OLD)


async def a_change_stored_despite_an_outage_leaves_no_old_password_session(race: Race) -> None:
    await race.register()
    token = await race.login()
    gate = hold(race.account_store, "find_by_username", after=True)
    login = asyncio.ensure_future(race.login())
    await gate.reached.wait()
    fail_after(race.account_store, "replace_credential")
    with pytest.raises(DependencyUnavailable):
        await race.change(token)
    await race.wait(CHANGE_SECONDS + 0.2)
    gate.release()
    with pytest.raises(BadCredentials):
        await login
    await race.assert_only_session_is(None)
    await race.assert_password_is(NEW)


async def _plant_a_cheaper_hash(race: Race, user: User) -> None:
    cheaper = PasswordHasher(InlineRunner(), rounds=ROUNDS - 1, pepper="pepper")
    planted = {"password_hash": await cheaper.hash(OLD)}
    assert await race.account_store.update(user.id, planted, now_utc()) is not None


async def a_rehash_at_a_held_login_never_restores_the_old_password(race: Race) -> None:
    user = await race.register()
    token = await race.login()
    await _plant_a_cheaper_hash(race, user)
    gate = hold(race.hasher, "verify", after=True)
    login = asyncio.ensure_future(race.login())
    await gate.reached.wait()
    changed = await race.change(token)
    gate.release()
    with pytest.raises(BadCredentials):
        await login
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


async def a_rehash_at_login_does_not_defeat_a_change_under_way(race: Race) -> None:
    user = await race.register()
    token = await race.login()
    await _plant_a_cheaper_hash(race, user)
    gate = hold(race.account_store, "replace_credential", after=False)
    change = asyncio.ensure_future(race.change(token))
    await gate.reached.wait()
    with pytest.raises(BadCredentials):
        await race.login()
    stored = await race.account_store.find_by_id(user.id)
    assert stored is not None
    assert stored.password_hash.startswith(f"$2b$0{ROUNDS}$"), "the login re-hashed"
    gate.release()
    changed = await change
    await race.assert_only_session_is(changed.new_token)
    await race.assert_password_is(NEW)


SCENARIOS: list[Callable[[Race], Awaitable[None]]] = [
    a_login_done_before_the_change_ends_its_sessions_loses_its_session,
    a_login_between_retiring_and_storing_the_new_hash_is_refused,
    a_login_after_the_new_hash_is_stored_needs_the_new_password,
    a_login_held_across_a_change_held_before_its_write_is_refused,
    a_change_that_never_stored_its_hash_leaves_the_old_password_working,
    a_change_stored_despite_an_outage_leaves_no_old_password_session,
    a_rehash_at_a_held_login_never_restores_the_old_password,
    a_rehash_at_login_does_not_defeat_a_change_under_way,
]
