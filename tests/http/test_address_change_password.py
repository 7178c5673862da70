"""Changing or removing the account's email address needs the current password (S04), as a
password change does; and a verified address that is changed or removed gets a notice, over
real sockets against the real servers and a real SMTP server."""

from __future__ import annotations

import pytest
import tornado.web

from factsvc.config import Settings
from tests.support.api import PASSWORD, Api
from tests.support.mail import LINK, MailSink, SunkMail, token_in
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

ADDRESS = "alice@example.com"
REQUIRED = {"old_password": "is required to change the email address"}
ACCOUNT_MAX_FAILURES = 3


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, mail_sink: MailSink
) -> tornado.web.Application:
    """The app on the test servers, mailing through `mail_sink`, with a small per-account
    failure limit."""
    return app_factory(
        with_settings(
            settings,
            smtp_url=mail_sink.url,
            mail_retry_seconds=0.05,
            login_account_max_failures=ACCOUNT_MAX_FAILURES,
        )
    )


async def registered(api: Api, mail_sink: MailSink, *, verified: bool) -> dict[str, str]:
    """alice with ADDRESS (verified if asked), and the headers of a bearer session of hers."""
    reply = await api.post(
        "/register", {"username": "alice", "password": PASSWORD, "email": ADDRESS}
    )
    assert reply.status == 201, reply.body
    mail = await mail_sink.next_to(ADDRESS)
    if verified:
        verify = await api.post("/email/verify", {"token": token_in(mail, "/email/verify")})
        assert verify.status == 200, verify.body
    login = await api.login("alice", session="token")
    assert login.status == 200, login.body
    return {"Authorization": f"Bearer {login.body['token']}"}


async def address(api: Api, headers: dict[str, str]) -> tuple[object, object]:
    user = (await api.get("/account/info", headers=headers)).body["user"]
    return user["email"], user["email_verified"]


@pytest.mark.parametrize("new", ["mallory@example.org", None])
async def test_a_change_or_removal_without_the_password_is_400_and_changes_nothing(
    api: Api, mail_sink: MailSink, new: str | None
) -> None:
    headers = await registered(api, mail_sink, verified=True)
    for body in ({"email": new}, {"email": new, "nickname": "Al"}):
        reply = await api.post("/account/edit", body, headers=headers)
        assert (reply.status, reply.body["code"], reply.body["errors"]) == (400, 3, REQUIRED)
    assert await address(api, headers) == (ADDRESS, True)
    assert (await api.get("/account/info", headers=headers)).body["user"]["nickname"] == "alice"
    await mail_sink.assert_none_to(ADDRESS)
    await mail_sink.assert_none_to("mallory@example.org", seconds=0)


async def test_a_wrong_password_is_403_and_counted_until_429(api: Api, mail_sink: MailSink) -> None:
    headers = await registered(api, mail_sink, verified=True)
    body = {"email": "mallory@example.org", "old_password": "not the password"}
    for _ in range(ACCOUNT_MAX_FAILURES):
        reply = await api.post("/account/edit", body, headers=headers)
        assert (reply.status, reply.body["code"]) == (403, 1001), reply.body
    limited = await api.post("/account/edit", body, headers=headers)
    assert (limited.status, limited.body["code"]) == (429, 9), limited.body
    assert int(limited.headers["Retry-After"]) > 0
    # The same limit as logins: the right password is refused too while it holds.
    right = {"email": "mallory@example.org", "old_password": PASSWORD}
    assert (await api.post("/account/edit", right, headers=headers)).status == 429
    assert (await api.login("alice")).status == 429
    assert await address(api, headers) == (ADDRESS, True)
    await mail_sink.assert_none_to("mallory@example.org")
    await mail_sink.assert_none_to(ADDRESS, seconds=0)


async def test_the_right_password_changes_the_address_and_the_old_one_is_told(
    api: Api, mail_sink: MailSink
) -> None:
    headers = await registered(api, mail_sink, verified=True)
    body = {"email": "Alice.New@Example.org", "old_password": PASSWORD}
    reply = await api.post("/account/edit", body, headers=headers)
    assert reply.status == 200, reply.body
    assert (reply.body["user"]["email"], reply.body["user"]["email_verified"]) == (
        "Alice.New@example.org",
        False,
    )
    assert "token" not in reply.body  # no password change: the session goes on
    assert (await api.get("/account/info", headers=headers)).status == 200
    token_in(await mail_sink.next_to("Alice.New@example.org"), "/email/verify")
    notice = await mail_sink.next_to(ADDRESS)
    assert_a_notice_without_secrets(notice)
    for part in (notice.text, notice.html):
        assert "example.org" in part
        assert "Alice.New" not in part
        assert "alice.new" not in part


async def test_a_removal_needs_the_password_and_tells_the_verified_address(
    api: Api, mail_sink: MailSink
) -> None:
    headers = await registered(api, mail_sink, verified=True)
    reply = await api.post(
        "/account/edit", {"email": None, "old_password": PASSWORD}, headers=headers
    )
    assert reply.status == 200, reply.body
    assert await address(api, headers) == (None, False)
    notice = await mail_sink.next_to(ADDRESS)
    assert_a_notice_without_secrets(notice)
    assert "removed" in notice.text


async def test_the_same_address_again_needs_no_password_and_changes_nothing(
    api: Api, mail_sink: MailSink
) -> None:
    headers = await registered(api, mail_sink, verified=True)
    for body in ({"email": "ALICE@Example.com"}, {"email": ADDRESS, "nickname": "Al"}):
        reply = await api.post("/account/edit", body, headers=headers)
        assert reply.status == 200, reply.body
    assert await address(api, headers) == (ADDRESS, True)
    await mail_sink.assert_none_to(ADDRESS)


async def test_a_given_password_is_checked_even_for_the_same_address(
    api: Api, mail_sink: MailSink
) -> None:
    headers = await registered(api, mail_sink, verified=True)
    body = {"email": ADDRESS, "old_password": "not the password"}
    reply = await api.post("/account/edit", body, headers=headers)
    assert (reply.status, reply.body["code"]) == (403, 1001)


async def test_an_unverified_old_address_gets_no_notice(api: Api, mail_sink: MailSink) -> None:
    headers = await registered(api, mail_sink, verified=False)
    body = {"email": "alice@example.org", "old_password": PASSWORD}
    assert (await api.post("/account/edit", body, headers=headers)).status == 200
    await mail_sink.next_to("alice@example.org")
    await mail_sink.assert_none_to(ADDRESS)


async def test_old_password_alone_is_still_refused(api: Api, mail_sink: MailSink) -> None:
    headers = await registered(api, mail_sink, verified=False)
    body = {"old_password": PASSWORD, "nickname": "Al"}
    reply = await api.post("/account/edit", body, headers=headers)
    assert (reply.status, reply.body["errors"]) == (
        400,
        {"old_password": "is only accepted with a new password or email address"},
    )


def assert_a_notice_without_secrets(notice: SunkMail) -> None:
    assert notice.subject == "The email address of your account was changed"
    for part in (notice.text, notice.html):
        assert "alice" in part
        assert "If you did not make this change" in part
        assert "#token=" not in part
        assert LINK.search(part) is None
        assert "/email/verify" not in part
        assert "/password/reset" not in part
