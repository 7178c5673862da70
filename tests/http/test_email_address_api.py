"""An account's email address over real sockets, against the real servers: stored normalised,
unique in any case, shown to its owner, changed and removed by /account/edit."""

from __future__ import annotations

import asyncio

import pytest

from factsvc.services.email_address import NOT_AN_ADDRESS
from tests.support.api import PASSWORD, Api

pytestmark = pytest.mark.gen_test(timeout=60)


async def _bearer(api: Api, username: str) -> dict[str, str]:
    login = await api.login(username, session="token")
    assert login.status == 200, login.body
    return {"Authorization": f"Bearer {login.body['token']}"}


async def _register(api: Api, username: str, email: object) -> dict[str, object]:
    reply = await api.post(
        "/register", {"username": username, "password": PASSWORD, "email": email}
    )
    assert reply.status == 201, reply.body
    user: dict[str, object] = reply.body["user"]
    return user


async def test_a_registered_address_is_stored_normalised_and_unverified(api: Api) -> None:
    user = await _register(api, "alice", "Alice@EXAMPLE.com")
    assert (user["email"], user["email_verified"]) == ("Alice@example.com", False)
    info = await api.get("/account/info", headers=await _bearer(api, "alice"))
    assert (info.body["user"]["email"], info.body["user"]["email_verified"]) == (
        "Alice@example.com",
        False,
    )
    plain = await _register(api, "bob", None)
    assert (plain["email"], plain["email_verified"]) == (None, False)
    assert (await api.register("carol")).body["user"]["email"] is None


@pytest.mark.parametrize("taken", ["alice@example.com", "ALICE@example.COM", "Alice@Example.Com"])
async def test_an_address_taken_in_any_case_is_refused_409(api: Api, taken: str) -> None:
    await _register(api, "alice", "Alice@example.com")
    reply = await api.post("/register", {"username": "bob", "password": PASSWORD, "email": taken})
    assert reply.status == 409
    assert (reply.body["code"], reply.body["errors"]) == (8, {"email": "is taken"})
    assert (await api.login("bob")).status == 401, "no account was made"


async def test_the_same_address_as_an_international_domain_in_either_form_is_taken(
    api: Api,
) -> None:
    user = await _register(api, "alice", "x@xn--bcher-kva.de")
    assert user["email"] == "x@bücher.de"
    reply = await api.post(
        "/register", {"username": "bob", "password": PASSWORD, "email": "X@BÜCHER.de"}
    )
    assert (reply.status, reply.body["errors"]) == (409, {"email": "is taken"})


async def test_concurrent_registrations_of_one_address_make_one_account(api: Api) -> None:
    replies = await asyncio.gather(
        *(
            api.post(
                "/register",
                {"username": f"user{n}", "password": PASSWORD, "email": f"{case}@example.org"},
            )
            for n, case in enumerate(["same", "SAME", "Same"] * 3 + ["sAmE"])
        )
    )
    assert sorted(reply.status for reply in replies) == [201] + [409] * 9


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("not an address", NOT_AN_ADDRESS),
        ("alice@localhost", NOT_AN_ADDRESS),
        (7, NOT_AN_ADDRESS),
        ({"$ne": None}, NOT_AN_ADDRESS),
        ("a@" + "b" * 300 + ".de", "must be at most 254 characters"),
    ],
)
async def test_a_bad_address_is_refused_400_and_nothing_is_stored(
    api: Api, email: object, reason: str
) -> None:
    reply = await api.post("/register", {"username": "alice", "password": PASSWORD, "email": email})
    assert (reply.status, reply.body["code"], reply.body["errors"]) == (400, 3, {"email": reason})
    assert (await api.login("alice")).status == 401
    await _register(api, "bob", None)
    edit = await api.post("/account/edit", {"email": email}, headers=await _bearer(api, "bob"))
    assert (edit.status, edit.body["errors"]) == (400, {"email": reason})


async def test_an_edit_changes_the_address_and_null_removes_it(api: Api) -> None:
    await _register(api, "alice", "alice@example.com")
    bearer = await _bearer(api, "alice")
    body: dict[str, object] = {"email": "Alice@Example.ORG", "old_password": PASSWORD}
    changed = await api.post("/account/edit", body, headers=bearer)
    assert changed.status == 200, changed.body
    assert (changed.body["user"]["email"], changed.body["user"]["email_verified"]) == (
        "Alice@example.org",
        False,
    )
    # The old address is free again.
    await _register(api, "bob", "alice@example.com")
    body = {"email": None, "old_password": PASSWORD}
    removed = await api.post("/account/edit", body, headers=bearer)
    assert removed.status == 200, removed.body
    assert (removed.body["user"]["email"], removed.body["user"]["email_verified"]) == (None, False)
    info = await api.get("/account/info", headers=bearer)
    assert info.body["user"]["email"] is None
    await _register(api, "carol", "alice@example.org")


async def test_an_edit_to_a_taken_address_is_409_and_changes_nothing(api: Api) -> None:
    await _register(api, "alice", "alice@example.com")
    await _register(api, "bob", "bob@example.com")
    bearer = await _bearer(api, "bob")
    reply = await api.post(
        "/account/edit",
        {"email": "ALICE@example.com", "nickname": "Bobby", "old_password": PASSWORD},
        headers=bearer,
    )
    assert (reply.status, reply.body["code"], reply.body["errors"]) == (
        409,
        8,
        {"email": "is taken"},
    )
    user = (await api.get("/account/info", headers=bearer)).body["user"]
    assert (user["email"], user["nickname"]) == ("bob@example.com", "bob")


async def test_the_address_is_shown_to_its_owner_in_every_answer_about_them(api: Api) -> None:
    await _register(api, "alice", "alice@example.com")
    login = await api.login("alice", session="token")
    assert login.body["user"]["email"] == "alice@example.com"
    bearer = {"Authorization": f"Bearer {login.body['token']}"}
    state = await api.get("/isLogined", headers=bearer)
    assert (state.body["user"]["email"], state.body["user"]["email_verified"]) == (
        "alice@example.com",
        False,
    )
