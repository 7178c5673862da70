"""The Authorization header: only the Bearer scheme presents a session token."""

from __future__ import annotations

import pytest

from factsvc.handlers.authorization import bearer_token


@pytest.mark.parametrize(
    ("authorization", "token"),
    [
        ("Bearer abc-123", "abc-123"),
        ("bearer abc-123", "abc-123"),
        ("BEARER   abc-123 \t", "abc-123"),
        (" Bearer abc", "abc"),
        ("Bearer", ""),
        ("Bearer ", ""),
        ("Bearer a b", "a b"),
    ],
)
def test_a_bearer_presents_its_token(authorization: str, token: str) -> None:
    assert bearer_token(authorization) == token


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic YWxpY2U6c2VjcmV0",
        "basic YWxpY2U6c2VjcmV0",
        "Digest username=alice",
        "Token abc",
        "Bearerabc",
        "Bearer\xa0abc",
        "Bearer\tabc",
        "Negotiate bearer",
    ],
)
def test_any_other_scheme_presents_no_session(authorization: str | None) -> None:
    assert bearer_token(authorization) is None
