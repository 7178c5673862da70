"""Account deletions raced step by step with logins and password changes, and failed at each
step: the scenarios that the unit (fakes) and integration (Redis and MongoDB) tests both run,
over tests/support/credential_races.py's gates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from factsvc.errors import BadCredentials, DependencyUnavailable, NotAuthenticated
from factsvc.services.account_deletion import FENCE_GAP, AccountDeletionService
from factsvc.services.account_store import AccountStore
from factsvc.services.avatar_store import AvatarStore
from factsvc.services.limits import CounterStore, Limit, RateLimiter
from factsvc.services.sessions import SessionService, SessionStore
from tests.support.credential_races import (
    CHANGE_SECONDS,
    LOGIN_PAUSES,
    NEW,
    OLD,
    Race,
    fail_after,
    fail_before,
    hold,
)


@dataclass
class DeletionRace:
    """A credential Race (same stores, same timing) with an AccountDeletionService beside it,
    over `avatars`; `avatar_ids` holds each registered user's avatar file."""

    race: Race
    avatars: AvatarStore
    deletion: AccountDeletionService
    avatar_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        account_store: AccountStore,
        session_store: SessionStore,
        counters: CounterStore,
        avatars: AvatarStore,
        wait: Callable[[float], Awaitable[object]],
        clock: Callable[[], float] | None = None,
    ) -> DeletionRace:
        race = Race.build(account_store, session_store, counters, wait, clock)
        timing: dict[str, Any] = {} if clock is None else {"clock": clock}
        # As Race.build's: one SessionService more over the same store changes nothing.
        sessions = SessionService(
            session_store,
            idle_seconds=600,
            absolute_seconds=3600,
            change_seconds=CHANGE_SECONDS,
            **timing,
        )
        deletion = AccountDeletionService(
            store=account_store,
            hasher=race.hasher,
            sessions=sessions,
            limiter=RateLimiter(counters),
            per_account=Limit("a", 100, 3600),
            avatars=avatars,
        )
        return cls(race, avatars, deletion)

    async def register(self) -> str:
        """Register alice with an avatar file; her id."""
        user = await self.race.register()
        self.avatar_ids[user.id] = await self.avatars.put(user.id, b"RIFF-webp", "image/webp")
        return user.id

    async def has_avatar(self, user_id: str) -> bool:
        return await self.avatars.open(self.avatar_ids[user_id]) is not None

    async def delete(self, token: str, password: str = OLD) -> None:
        await self.deletion.delete(token, {"password": password})

    async def assert_gone(self, user_id: str) -> None:
        """No account, no avatar file, no live session, and a login fails as for a stranger."""
        assert await self.race.account_store.find_by_id(user_id) is None
        assert not await self.has_avatar(user_id)
        assert await self.race.live_sessions() == []
        for password in (OLD, NEW):
            with pytest.raises(BadCredentials):
                await self.race.login(password)

    async def assert_kept(self, user_id: str, *, avatar: bool) -> None:
        """The account is there, with (or without) its avatar file, and its password works."""
        assert await self.race.account_store.find_by_id(user_id) is not None
        assert await self.has_avatar(user_id) is avatar
        assert await self.race.accounts.info(await self.race.login())


async def a_login_held_while_the_account_is_deleted_opens_no_session(
    d: DeletionRace, pause: str, resumed_late: bool
) -> None:
    user_id = await d.register()
    token = await d.race.login()
    gate = LOGIN_PAUSES[pause](d.race)
    login = asyncio.ensure_future(d.race.login())
    await gate.reached.wait()
    await d.delete(token)
    if resumed_late:
        await d.race.wait(CHANGE_SECONDS + 0.2)
    gate.release()
    with pytest.raises(BadCredentials):
        await login
    await d.assert_gone(user_id)


async def a_login_let_in_while_the_avatar_is_deleted_loses_its_session(d: DeletionRace) -> None:
    """The avatar's deletion outlasts the first fence's change time: a login that read the
    account before the fence advances the version to it and opens a session; the second fence
    ends that session before the account goes."""
    user_id = await d.register()
    token = await d.race.login()
    login_gate = hold(d.race.account_store, "find_by_username", after=True)
    login = asyncio.ensure_future(d.race.login())
    await login_gate.reached.wait()
    avatar_gate = hold(d.avatars, "delete_owned_by", after=False)
    deletion = asyncio.ensure_future(d.delete(token))
    await avatar_gate.reached.wait()
    await d.race.wait(CHANGE_SECONDS + 0.2)
    login_gate.release()
    during = await login
    assert (await d.race.accounts.info(during)).username == "alice"
    avatar_gate.release()
    await deletion
    assert await d.race.live_sessions() == []
    with pytest.raises(NotAuthenticated):
        await d.race.accounts.info(during)
    await d.assert_gone(user_id)


async def a_login_let_in_during_the_avatar_delete_and_saved_after_the_last_fence_is_refused(
    d: DeletionRace,
) -> None:
    """As above, but the login's session is saved only after the second fence: refused."""
    user_id = await d.register()
    token = await d.race.login()
    login_gate = hold(d.race.account_store, "find_by_username", after=True)
    login = asyncio.ensure_future(d.race.login())
    await login_gate.reached.wait()
    avatar_gate = hold(d.avatars, "delete_owned_by", after=False)
    deletion = asyncio.ensure_future(d.delete(token))
    await avatar_gate.reached.wait()
    await d.race.wait(CHANGE_SECONDS + 0.2)
    # The login advances the version to the first fence, then waits before saving its session.
    advanced = hold(d.race.account_store, "advance_credential_version", after=True)
    login_gate.release()
    await advanced.reached.wait()
    avatar_gate.release()
    await deletion
    advanced.release()
    with pytest.raises(BadCredentials):
        await login
    await d.assert_gone(user_id)


async def a_login_let_in_before_the_account_goes_keeps_the_account(d: DeletionRace) -> None:
    """The account's delete waits past the last fence's change time (a stalled request): a
    login then opens a session at that fence's version, and the delete, bounded below it,
    keeps the account, whose session lives; the deletion says NotAuthenticated."""
    user_id = await d.register()
    token = await d.race.login()
    gate = hold(d.race.account_store, "delete", after=False)
    deletion = asyncio.ensure_future(d.delete(token))
    await gate.reached.wait()
    with pytest.raises(BadCredentials):
        await d.race.login()  # within the change time
    await d.race.wait(CHANGE_SECONDS + 0.2)
    during = await d.race.login()
    gate.release()
    with pytest.raises(NotAuthenticated):
        await deletion
    assert (await d.race.accounts.info(during)).username == "alice"
    stored = await d.race.account_store.find_by_id(user_id)
    assert stored is not None
    assert stored.credential_version == FENCE_GAP + 1
    assert not await d.has_avatar(user_id)
    # Deleting again from the new session finishes the work.
    await d.delete(during)
    await d.assert_gone(user_id)


async def a_password_change_during_the_deletion_opens_no_session(d: DeletionRace) -> None:
    """A change past its own checks when the deletion ends the sessions, and stored while the
    deletion deletes the avatar: its new session is refused at once (the fence lies far past
    the version it stores), and the account goes all the same."""
    user_id = await d.register()
    token = await d.race.login()
    other = await d.race.login()
    change_gate = hold(d.race.session_store, "retire_credentials", after=False)
    change = asyncio.ensure_future(d.race.change(other))
    await change_gate.reached.wait()  # the change checked the old password: it retires next
    avatar_gate = hold(d.avatars, "delete_owned_by", after=False)
    deletion = asyncio.ensure_future(d.delete(token))
    await avatar_gate.reached.wait()
    change_gate.release()
    with pytest.raises(NotAuthenticated):
        await change
    stored = await d.race.account_store.find_by_id(user_id)
    assert stored is not None
    assert stored.credential_version == 1, "the change stored its hash"
    assert await d.race.live_sessions() == []
    avatar_gate.release()
    await deletion
    await d.assert_gone(user_id)


async def two_deletions_of_one_account_both_succeed(d: DeletionRace) -> None:
    """Two requests of the same session, both past their checks: the one that finds the
    account gone at its delete answers success too."""
    user_id = await d.register()
    token = await d.race.login()
    gate = hold(d.race.session_store, "retire_credentials", after=False)
    first = asyncio.ensure_future(d.delete(token))
    await gate.reached.wait()
    await d.delete(token)
    gate.release()
    await first
    await d.assert_gone(user_id)


async def redis_failing_at_the_first_fence_changes_nothing(d: DeletionRace) -> None:
    user_id = await d.register()
    token = await d.race.login()
    fail_before(d.race.session_store, "retire_credentials")
    with pytest.raises(DependencyUnavailable):
        await d.delete(token)
    assert (await d.race.accounts.info(token)).username == "alice"
    await d.assert_kept(user_id, avatar=True)


async def mongodb_failing_at_the_avatar_leaves_the_account_without_sessions(
    d: DeletionRace,
) -> None:
    user_id = await d.register()
    token = await d.race.login()
    delete_owned_by = d.avatars.delete_owned_by
    fail_before(d.avatars, "delete_owned_by")
    with pytest.raises(DependencyUnavailable):
        await d.delete(token)
    setattr(d.avatars, "delete_owned_by", delete_owned_by)  # noqa: B010
    with pytest.raises(NotAuthenticated):
        await d.race.accounts.info(token)
    await d.race.assert_only_session_is(None)
    await d.race.wait(CHANGE_SECONDS + 0.2)
    await d.assert_kept(user_id, avatar=True)
    await d.delete(await d.race.login())
    await d.assert_gone(user_id)


async def _a_retry_after_logging_in_again_deletes_the_account(
    d: DeletionRace, user_id: str
) -> None:
    with pytest.raises(BadCredentials):
        await d.race.login()  # the fence's change time: the deletion might still be writing
    await d.race.wait(CHANGE_SECONDS + 0.2)
    await d.assert_kept(user_id, avatar=False)
    await d.delete(await d.race.login())
    await d.assert_gone(user_id)


async def redis_failing_at_the_last_fence_leaves_the_account_without_sessions(
    d: DeletionRace,
) -> None:
    user_id = await d.register()
    token = await d.race.login()
    retire = d.race.session_store.retire_credentials

    async def second_fails(*args: Any, **kwargs: Any) -> None:
        if not await d.has_avatar(user_id):
            raise DependencyUnavailable({"redis": "unavailable"})
        await retire(*args, **kwargs)

    setattr(d.race.session_store, "retire_credentials", second_fails)  # noqa: B010
    with pytest.raises(DependencyUnavailable):
        await d.delete(token)
    setattr(d.race.session_store, "retire_credentials", retire)  # noqa: B010
    await d.race.assert_only_session_is(None)
    await _a_retry_after_logging_in_again_deletes_the_account(d, user_id)


async def mongodb_failing_at_the_account_leaves_it_without_sessions_or_avatar(
    d: DeletionRace,
) -> None:
    user_id = await d.register()
    token = await d.race.login()
    delete = d.race.account_store.delete
    fail_before(d.race.account_store, "delete")
    with pytest.raises(DependencyUnavailable):
        await d.delete(token)
    setattr(d.race.account_store, "delete", delete)  # noqa: B010
    await d.race.assert_only_session_is(None)
    await _a_retry_after_logging_in_again_deletes_the_account(d, user_id)


async def an_account_deleted_despite_an_outage_is_gone(d: DeletionRace) -> None:
    user_id = await d.register()
    token = await d.race.login()
    fail_after(d.race.account_store, "delete")
    with pytest.raises(DependencyUnavailable):
        await d.delete(token)
    with pytest.raises(NotAuthenticated):
        await d.delete(token)
    await d.assert_gone(user_id)


SCENARIOS: list[Callable[[DeletionRace], Awaitable[None]]] = [
    a_login_let_in_while_the_avatar_is_deleted_loses_its_session,
    a_login_let_in_during_the_avatar_delete_and_saved_after_the_last_fence_is_refused,
    a_login_let_in_before_the_account_goes_keeps_the_account,
    a_password_change_during_the_deletion_opens_no_session,
    two_deletions_of_one_account_both_succeed,
    redis_failing_at_the_first_fence_changes_nothing,
    mongodb_failing_at_the_avatar_leaves_the_account_without_sessions,
    redis_failing_at_the_last_fence_leaves_the_account_without_sessions,
    mongodb_failing_at_the_account_leaves_it_without_sessions_or_avatar,
    an_account_deleted_despite_an_outage_is_gone,
]
