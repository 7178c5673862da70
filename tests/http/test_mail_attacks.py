"""Attacks on email addresses, mailed tokens and password reset, over real sockets against the
real servers: each a defect once seen on a running service, kept from coming back."""

from __future__ import annotations

import pytest

from tests.support.api import PASSWORD, Api

pytestmark = pytest.mark.gen_test(timeout=60)


# Pairs of addresses that are one address under Unicode's canonical caseless match (D145:
# NFD(casefold(NFD(x)))), whose NFC forms differ: case folding U+01F0 (ǰ) yields j + U+030C
# ahead of the U+0323 that canonical order puts first.
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("\u01f0\u0323@example.com", "J\u0323\u030c@example.com"),
        ("J\u0323\u030c@example.com", "\u01f0\u0323@example.com"),
    ],
)
async def test_an_address_equal_under_canonical_caseless_matching_is_taken(
    api: Api, first: str, second: str
) -> None:
    reply = await api.post("/register", {"username": "alice", "password": PASSWORD, "email": first})
    assert reply.status == 201, reply.body
    reply = await api.post("/register", {"username": "bob", "password": PASSWORD, "email": second})
    assert (reply.status, reply.body.get("errors")) == (409, {"email": "is taken"})
