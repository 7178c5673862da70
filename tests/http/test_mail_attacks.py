"""Attacks on email addresses, mailed tokens and password reset, over real sockets against the
real servers: each a defect once seen on a running service, kept from coming back."""

from __future__ import annotations

import pytest
import tornado.web

from factsvc.config import Settings
from tests.support.api import PASSWORD, Api
from tests.support.mail import MailSink, token_in
from tests.support.servers import AppFactory, with_settings

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


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, mail_sink: MailSink
) -> tornado.web.Application:
    """The app on the test servers, mailing through `mail_sink`."""
    return app_factory(with_settings(settings, smtp_url=mail_sink.url, mail_retry_seconds=0.05))


async def test_a_session_alone_cannot_set_a_new_password_through_a_new_address(
    api: Api, mail_sink: MailSink
) -> None:
    registered = await api.post(
        "/register", {"username": "alice", "password": PASSWORD, "email": "alice@example.com"}
    )
    assert registered.status == 201, registered.body
    token = token_in(await mail_sink.next_to("alice@example.com"), "/email/verify")
    assert (await api.post("/email/verify", {"token": token})).status == 200
    login = await api.login("alice", session="token")
    bearer = {"Authorization": f"Bearer {login.body['token']}"}
    # What a holder of the session alone (not of the password) can do:
    edit = await api.post("/account/edit", {"email": "mallory@example.org"}, headers=bearer)
    if edit.status == 200:
        token = token_in(await mail_sink.next_to("mallory@example.org"), "/email/verify")
        await api.post("/email/verify", {"token": token})
        asked = await api.post("/password/forgot", {"username": "alice"})
        assert asked.status == 202
        try:
            mail = await mail_sink.next_to("mallory@example.org", within=2)
        except AssertionError:  # no reset mail: the takeover stops here
            pass
        else:
            token = token_in(mail, "/password/reset")
            await api.post("/password/reset", {"token": token, "password": "chosen by mallory"})
    assert (await api.login("alice", "chosen by mallory")).status == 401
    assert (await api.login("alice")).status == 200


async def test_a_password_change_refused_for_a_taken_address_ends_no_session(api: Api) -> None:
    for username, email in (("alice", "alice@example.com"), ("bob", "bob@example.com")):
        reply = await api.post(
            "/register", {"username": username, "password": PASSWORD, "email": email}
        )
        assert reply.status == 201, reply.body
    bearers = []
    for _ in range(2):
        login = await api.login("alice", session="token")
        bearers.append({"Authorization": f"Bearer {login.body['token']}"})
    edit = await api.post(
        "/account/edit",
        {"email": "BOB@example.com", "password": "a brand new secret", "old_password": PASSWORD},
        headers=bearers[0],
    )
    assert (edit.status, edit.body.get("errors")) == (409, {"email": "is taken"})
    for bearer in bearers:
        assert (await api.get("/account/info", headers=bearer)).status == 200
    assert (await api.login("alice")).status == 200
    assert (await api.login("alice", "a brand new secret")).status == 401
