"""Session tokens: their shape, the user's tag they carry, and tokens of before the tag."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

import pytest

from factsvc.services.sessions import (
    RANDOM_LENGTH,
    TAG_LENGTH,
    TOKEN_LENGTH,
    TOKEN_PATTERN,
    TOKEN_SHAPE,
    USE_RECORDED_EVERY,
    OpenedBy,
    SessionService,
    user_tag,
)
from tests.support.fake_redis_stores import FakeSessionStore

pytestmark = pytest.mark.gen_test(timeout=10)

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
# RFC 6265 §4.1.1: cookie-octet, US-ASCII without CTLs, whitespace, DQUOTE, comma, semicolon
# and backslash.
COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")


def service() -> tuple[SessionService, FakeSessionStore]:
    store = FakeSessionStore()
    return SessionService(store, idle_seconds=600, absolute_seconds=3600), store


def test_a_users_tag_is_short_hex_and_the_same_every_time() -> None:
    assert user_tag("64b7f0c2a1e4d3b2c1a09f8e") == user_tag("64b7f0c2a1e4d3b2c1a09f8e")
    assert re.fullmatch(f"[0-9a-f]{{{TAG_LENGTH}}}", user_tag("64b7f0c2a1e4d3b2c1a09f8e"))
    tags = {user_tag(f"{number:024x}") for number in range(1000)}
    assert len(tags) > 950, "users spread over the tags"


async def test_a_token_carries_its_users_tag_after_its_random_part() -> None:
    sessions, _ = service()
    session = await sessions.create("64b7f0c2a1e4d3b2c1a09f8e", {})
    token = session.token
    assert len(token) == TOKEN_LENGTH == RANDOM_LENGTH + TAG_LENGTH
    assert TOKEN_SHAPE.fullmatch(token)
    assert token.endswith(user_tag("64b7f0c2a1e4d3b2c1a09f8e"))
    assert session.key.startswith(user_tag("64b7f0c2a1e4d3b2c1a09f8e") + ":")


async def test_a_token_is_a_b64token_and_a_cookie_value() -> None:
    sessions, _ = service()
    for number in range(200):
        token = (await sessions.create(f"{number:024x}", {})).token
        assert B64TOKEN.fullmatch(token), token
        assert COOKIE_OCTETS.fullmatch(token), token


def test_the_published_pattern_is_the_one_resolve_checks() -> None:
    token = secrets.token_urlsafe(32) + user_tag("u1")
    assert re.fullmatch(TOKEN_PATTERN, token)
    assert not re.fullmatch(TOKEN_PATTERN, token[:-1] + "G"), "the tag is lowercase hex"


async def test_a_token_resolves_to_its_session() -> None:
    sessions, _ = service()
    session = await sessions.create("u1", {"username": "alice"})
    resolved = await sessions.resolve(session.token)
    assert resolved is not None
    assert (resolved.user_id, resolved.token) == ("u1", session.token)


async def test_a_token_of_before_the_tag_resolves_as_unknown() -> None:
    sessions, _ = service()
    untagged = secrets.token_urlsafe(32)
    assert len(untagged) == RANDOM_LENGTH
    assert await sessions.resolve(untagged) is None


async def test_a_token_whose_tag_was_changed_resolves_as_unknown() -> None:
    sessions, _ = service()
    session = await sessions.create("u1", {})
    other_tag = "0000" if user_tag("u1") != "0000" else "ffff"
    assert await sessions.resolve(session.token[:RANDOM_LENGTH] + other_tag) is None


async def test_retiring_a_credential_ends_every_session_of_the_user_only() -> None:
    sessions, _ = service()
    mine = [await sessions.create("u1", {}) for _ in range(3)]
    theirs = await sessions.create("u2", {})
    await sessions.retire_credential("u1", 0)
    for session in mine:
        assert await sessions.resolve(session.token) is None
    assert await sessions.resolve(theirs.token) is not None


class Clock:
    """A clock in seconds that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_767_322_800.0

    def __call__(self) -> float:
        return self.now


def timed_service(clock: Clock, **options: int) -> tuple[SessionService, FakeSessionStore]:
    store = FakeSessionStore(clock)
    sessions = SessionService(
        store, idle_seconds=600, absolute_seconds=3600, clock=clock, **options
    )
    return sessions, store


async def test_a_session_keeps_its_client_and_user_agent() -> None:
    sessions, _ = service()
    opened_by = OpenedBy("203.0.113.7", "Firefox 121 on Windows")
    session = await sessions.create("u1", {}, opened_by=opened_by)
    resolved = await sessions.resolve(session.token)
    assert resolved is not None
    assert resolved.opened_by == opened_by


async def test_the_last_use_is_written_back_at_most_once_a_minute() -> None:
    clock = Clock()
    sessions, store = timed_service(clock)
    session = await sessions.create("u1", {})
    assert session.last_used_at == clock.now
    opened = clock.now
    clock.now += USE_RECORDED_EVERY - 1
    resolved = await sessions.resolve(session.token)
    assert resolved is not None
    assert resolved.last_used_at == opened
    assert store.records[session.key]["last_used_at"] == opened, "no write within the minute"
    clock.now += 1
    resolved = await sessions.resolve(session.token)
    assert resolved is not None
    assert resolved.last_used_at == clock.now
    assert store.records[session.key]["last_used_at"] == clock.now


async def test_a_new_session_was_last_used_when_it_was_opened() -> None:
    clock = Clock()
    sessions, store = timed_service(clock)
    started_at = sessions.now()
    clock.now += 0.9  # the login's bcrypt, and its wait for a place
    session = await sessions.create("u1", {}, started_at=started_at)
    assert (session.created_at, session.last_used_at) == (started_at, started_at)
    assert store.records[session.key]["last_used_at"] == started_at


async def test_writing_back_the_last_use_never_undoes_a_concurrent_write() -> None:
    clock = Clock()
    sessions, store = timed_service(clock)
    session = await sessions.create("u1", {"nickname": "old"})
    clock.now += USE_RECORDED_EVERY
    loaded = store.load

    async def load_then_refresh(key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        record = await loaded(key, idle_seconds)
        await sessions.refresh_snapshot(session, {"nickname": "new"})
        return record

    store.load = load_then_refresh  # type: ignore[method-assign]
    assert await sessions.resolve(session.token) is not None
    assert store.records[session.key]["user"] == {"nickname": "new"}


async def test_a_session_stored_before_its_client_was_kept_reads_as_unknown() -> None:
    sessions, store = service()
    session = await sessions.create("u1", {})
    created = store.records[session.key]["created_at"]
    store.records[session.key] = {"user_id": "u1", "created_at": created, "user": {}}
    resolved = await sessions.resolve(session.token)
    assert resolved is not None
    assert (resolved.opened_by, resolved.last_used_at) == (OpenedBy(None, None), created)


async def test_a_login_beyond_the_bound_ends_the_users_session_nearest_its_end() -> None:
    clock = Clock()
    sessions, _ = timed_service(clock, max_per_user=2)
    first = await sessions.create("u1", {})
    clock.now += 10
    second = await sessions.create("u1", {})
    theirs = await sessions.create("u2", {})
    third = await sessions.create("u1", {})
    assert await sessions.resolve(first.token) is None
    for session in (second, third, theirs):
        assert await sessions.resolve(session.token) is not None
