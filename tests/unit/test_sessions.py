"""Session tokens: their shape, the user's tag they carry, and tokens of before the tag."""

from __future__ import annotations

import re
import secrets

import pytest

from factsvc.services.sessions import (
    RANDOM_LENGTH,
    TAG_LENGTH,
    TOKEN_LENGTH,
    TOKEN_PATTERN,
    TOKEN_SHAPE,
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
