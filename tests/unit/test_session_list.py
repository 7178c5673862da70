"""Listing and revoking a user's sessions (services/session_list.py) over the fake store."""

from __future__ import annotations

import re

import pytest

from factsvc.errors import DependencyUnavailable, InvalidInput, NotAuthenticated, NotFound
from factsvc.services.session_list import SessionListService, public_id
from factsvc.services.sessions import OpenedBy, Session, SessionService
from tests.support.fake_redis_stores import FakeSessionStore

pytestmark = pytest.mark.gen_test(timeout=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_322_800.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> FakeSessionStore:
    return FakeSessionStore(clock)


@pytest.fixture
def sessions(store: FakeSessionStore, clock: Clock) -> SessionService:
    return SessionService(store, idle_seconds=600, absolute_seconds=3600, clock=clock)


@pytest.fixture
def listing(sessions: SessionService) -> SessionListService:
    return SessionListService(sessions)


async def open_three(sessions: SessionService, clock: Clock) -> list[Session]:
    opened = []
    for agent in ("Firefox 121 on Windows", "Chrome Mobile 120 on Android", None):
        opened.append(await sessions.create("u1", {}, opened_by=OpenedBy("198.51.100.4", agent)))
        clock.now += 1
    return opened


async def test_the_list_holds_the_users_sessions_newest_first(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    first, second, third = await open_three(sessions, clock)
    await sessions.create("u2", {})
    listed = [item.public() for item in await listing.list(second.token)]
    assert [item["id"] for item in listed] == [public_id(s.key) for s in (third, second, first)]
    assert [item["current"] for item in listed] == [False, True, False]
    assert listed[2] == {
        "id": public_id(first.key),
        "created_at": "2026-01-02T03:00:00.250Z",
        "last_used_at": "2026-01-02T03:00:00.250Z",
        "client": "198.51.100.4",
        "user_agent": "Firefox 121 on Windows",
        "current": False,
    }
    assert listed[0]["user_agent"] is None


def test_an_id_is_short_hex_and_neither_the_token_nor_its_digest() -> None:
    key = "abcd:" + "0" * 64
    assert re.fullmatch("[0-9a-f]{16}", public_id(key))
    assert public_id(key) != public_id("abcd:" + "1" + "0" * 63)
    assert public_id(key) not in key


async def test_revoking_an_id_ends_that_session_only(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    first, second, third = await open_three(sessions, clock)
    revoked = await listing.revoke(third.token, {"id": public_id(first.key)})
    assert (revoked.count, revoked.current) == (1, False)
    assert await sessions.resolve(first.token) is None
    assert await sessions.resolve(second.token) is not None


async def test_revoking_the_current_session_says_so(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    (first, *_) = await open_three(sessions, clock)
    revoked = await listing.revoke(first.token, {"id": public_id(first.key)})
    assert (revoked.count, revoked.current) == (1, True)
    assert await sessions.resolve(first.token) is None


async def test_an_id_not_among_the_users_live_sessions_is_not_found(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    (first, *_) = await open_three(sessions, clock)
    theirs = await sessions.create("u2", {})
    with pytest.raises(NotFound):
        await listing.revoke(first.token, {"id": public_id(theirs.key)})
    assert await sessions.resolve(theirs.token) is not None
    clock.now += 601
    mine = await sessions.create("u1", {})
    with pytest.raises(NotFound):
        await listing.revoke(mine.token, {"id": public_id(first.key)})


async def test_revoking_all_ends_every_other_session_of_the_user(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    first, second, third = await open_three(sessions, clock)
    theirs = await sessions.create("u2", {})
    revoked = await listing.revoke(second.token, {"all": True})
    assert (revoked.count, revoked.current) == (2, False)
    assert [s.token for s in (first, second, third) if await sessions.resolve(s.token)] == [
        second.token
    ]
    assert await sessions.resolve(theirs.token) is not None


async def test_a_bad_body_ends_nothing_and_no_session_is_refused_first(
    sessions: SessionService, listing: SessionListService, clock: Clock
) -> None:
    first, *_ = await open_three(sessions, clock)
    with pytest.raises(InvalidInput):
        await listing.revoke(first.token, {"all": False})
    assert len(await listing.list(first.token)) == 3
    with pytest.raises(NotAuthenticated):
        await listing.revoke(None, {"all": False})
    with pytest.raises(NotAuthenticated):
        await listing.list("not a token")


async def test_without_the_store_both_fail_as_dependency_unavailable(
    sessions: SessionService, listing: SessionListService, store: FakeSessionStore, clock: Clock
) -> None:
    first, *_ = await open_three(sessions, clock)
    store.available = False
    with pytest.raises(DependencyUnavailable):
        await listing.list(first.token)
    with pytest.raises(DependencyUnavailable):
        await listing.revoke(first.token, {"all": True})
