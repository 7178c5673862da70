"""Email verification over real sockets, against a real redis-server, the MongoDB-compatible
server and a real SMTP server (aiosmtpd): the mail arrives, its token verifies once, a changed
address voids it, resends and their limits, and no token in any log line."""

from __future__ import annotations

import logging

import pytest
import tornado.web

from factsvc.config import Settings
from factsvc.services.email_verification import ALREADY_VERIFIED, NO_ADDRESS
from factsvc.services.mail_messages import VERIFY_SUBJECT
from tests.support.api import PASSWORD, Api, Reply
from tests.support.mail import MailSink, token_in
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=120)

ADDRESS = "alice@example.com"
VERIFY_PATH = "/email/verify"
RESEND_PATH = "/account/email/verification"
SEND_MAX = 3


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, mail_sink: MailSink
) -> tornado.web.Application:
    return app_factory(
        with_settings(
            settings,
            smtp_url=mail_sink.url,
            mail_retry_seconds=0.05,
            email_verify_send_max=SEND_MAX,
            mail_token_client_max_failures=5,
        )
    )


async def register(api: Api, username: str = "alice", email: str | None = ADDRESS) -> Reply:
    body: dict[str, object] = {"username": username, "password": PASSWORD}
    if email is not None:
        body["email"] = email
    reply = await api.post("/register", body)
    assert reply.status == 201, reply.body
    return reply


async def bearer(api: Api, username: str = "alice") -> dict[str, str]:
    login = await api.login(username, session="token")
    assert login.status == 200, login.body
    return {"Authorization": f"Bearer {login.body['token']}"}


async def verify(api: Api, token: str) -> Reply:
    return await api.post(VERIFY_PATH, {"token": token})


def refused_as_invalid_token(reply: Reply) -> bool:
    return (reply.status, reply.body["code"], reply.body["message"]) == (
        400,
        1002,
        "invalid or expired link",
    ) and "errors" not in reply.body


async def test_a_registered_address_gets_a_mail_whose_token_verifies_it_once(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api, email="Alice@Example.COM")
    mail = await mail_sink.next_to("Alice@example.com")
    assert mail.subject == VERIFY_SUBJECT
    token = token_in(mail, VERIFY_PATH)
    headers = await bearer(api)
    before = (await api.get("/account/info", headers=headers)).body["user"]
    assert (before["email"], before["email_verified"]) == ("Alice@example.com", False)

    done = await verify(api, token)
    assert (done.status, done.body) == (200, {"code": 0, "message": ""})
    assert done.headers["Cache-Control"] == "no-store"
    after = (await api.get("/account/info", headers=headers)).body["user"]
    assert (after["email"], after["email_verified"]) == ("Alice@example.com", True)

    again = await verify(api, token)
    assert refused_as_invalid_token(again), again.body


@pytest.mark.parametrize("token", ["", "x" * 47, "A" * 43 + "0000", "not a token at all"])
async def test_an_unknown_or_malformed_token_is_the_same_400(api: Api, token: str) -> None:
    assert refused_as_invalid_token(await verify(api, token))


async def test_a_bad_verify_body_is_400_with_its_fields(api: Api) -> None:
    for body in ({}, {"token": 7}, {"token": "x", "extra": 1}):
        reply = await api.post(VERIFY_PATH, body)
        assert (reply.status, reply.body["code"]) == (400, 3), body
        assert reply.body["errors"]


async def test_a_changed_address_voids_the_old_token_and_gets_a_new_mail(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api)
    old = token_in(await mail_sink.next_to(ADDRESS), VERIFY_PATH)
    headers = await bearer(api)
    body = {"email": "alice@example.org", "old_password": PASSWORD}
    changed = await api.post("/account/edit", body, headers=headers)
    assert changed.status == 200, changed.body
    new = token_in(await mail_sink.next_to("alice@example.org"), VERIFY_PATH)
    assert refused_as_invalid_token(await verify(api, old))
    assert (await verify(api, new)).status == 200
    user = (await api.get("/account/info", headers=headers)).body["user"]
    assert (user["email"], user["email_verified"]) == ("alice@example.org", True)


async def test_changing_a_verified_address_makes_it_unverified_and_the_same_one_does_not(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api)
    assert (await verify(api, token_in(await mail_sink.next_to(ADDRESS)))).status == 200
    headers = await bearer(api)
    same = await api.post("/account/edit", {"email": "ALICE@example.com"}, headers=headers)
    assert (same.body["user"]["email"], same.body["user"]["email_verified"]) == (ADDRESS, True)
    await mail_sink.assert_none_to(ADDRESS)
    body = {"email": "bob@example.com", "old_password": PASSWORD}
    other = await api.post("/account/edit", body, headers=headers)
    assert (other.body["user"]["email"], other.body["user"]["email_verified"]) == (
        "bob@example.com",
        False,
    )
    await mail_sink.next_to("bob@example.com")


async def test_removing_the_address_voids_its_token(api: Api, mail_sink: MailSink) -> None:
    await register(api)
    token = token_in(await mail_sink.next_to(ADDRESS))
    headers = await bearer(api)
    body = {"email": None, "old_password": PASSWORD}
    removed = await api.post("/account/edit", body, headers=headers)
    assert (removed.body["user"]["email"], removed.body["user"]["email_verified"]) == (None, False)
    assert refused_as_invalid_token(await verify(api, token))


async def test_a_password_change_voids_the_verification_link(api: Api, mail_sink: MailSink) -> None:
    # Whoever set the address (a session the change ends) holds no working link afterwards.
    await register(api)
    token = token_in(await mail_sink.next_to(ADDRESS), VERIFY_PATH)
    headers = await bearer(api)
    body = {"password": "a brand new password", "old_password": PASSWORD}
    changed = await api.post("/account/edit", body, headers=headers)
    assert changed.status == 200, changed.body
    assert refused_as_invalid_token(await verify(api, token))
    headers = {"Authorization": f"Bearer {changed.body['token']}"}
    user = (await api.get("/account/info", headers=headers)).body["user"]
    assert (user["email"], user["email_verified"]) == (ADDRESS, False)
    assert (await api.post(RESEND_PATH, headers=headers)).status == 202
    assert (await verify(api, token_in(await mail_sink.next_to(ADDRESS)))).status == 200


async def test_duplicates_in_any_case_are_409_at_registration_and_in_an_edit(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api)
    taken = await api.post(
        "/register", {"username": "bob", "password": PASSWORD, "email": "ALICE@example.COM"}
    )
    assert (taken.status, taken.body["errors"]) == (409, {"email": "is taken"})
    await register(api, "bob", "bob@example.com")
    edit = await api.post(
        "/account/edit",
        {"email": "Alice@Example.com", "old_password": PASSWORD},
        headers=await bearer(api, "bob"),
    )
    assert (edit.status, edit.body["errors"]) == (409, {"email": "is taken"})
    await mail_sink.next_to(ADDRESS)
    await mail_sink.next_to("bob@example.com")
    await mail_sink.assert_none_to(ADDRESS)


async def test_a_resend_mails_a_new_token_and_voids_the_older(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api)
    first = token_in(await mail_sink.next_to(ADDRESS))
    headers = await bearer(api)
    asked = await api.post(RESEND_PATH, headers=headers)
    assert (asked.status, asked.body) == (202, {"code": 0, "message": ""})
    second = token_in(await mail_sink.next_to(ADDRESS))
    assert second != first
    assert refused_as_invalid_token(await verify(api, first))
    assert (await verify(api, second)).status == 200
    verified = await api.post(RESEND_PATH, {}, headers=headers)
    assert (verified.status, verified.body["errors"]) == (400, {"email": ALREADY_VERIFIED})


async def test_a_resend_needs_a_session_and_an_address(api: Api) -> None:
    anonymous = await api.post(RESEND_PATH, {})
    assert (anonymous.status, anonymous.body["code"]) == (401, 4)
    await register(api, email=None)
    headers = await bearer(api)
    none = await api.post(RESEND_PATH, {}, headers=headers)
    assert (none.status, none.body["errors"]) == (400, {"email": NO_ADDRESS})
    extra = await api.post(RESEND_PATH, {"email": ADDRESS}, headers=headers)
    assert (extra.status, extra.body["errors"]) == (400, {"email": "is not an accepted field"})


async def test_resends_beyond_the_limit_are_429_with_retry_after(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api)  # the first of SEND_MAX mails
    await mail_sink.next_to(ADDRESS)
    headers = await bearer(api)
    for _ in range(SEND_MAX - 1):
        assert (await api.post(RESEND_PATH, headers=headers)).status == 202
        # Each mailed before the next is asked for: a link that a newer one voided before it
        # went out is not mailed at all.
        await mail_sink.next_to(ADDRESS)
    refused = await api.post(RESEND_PATH, headers=headers)
    assert (refused.status, refused.body["code"]) == (429, 9)
    assert int(refused.headers["Retry-After"]) > 0
    await mail_sink.assert_none_to(ADDRESS)


async def test_address_changes_beyond_the_limit_are_429_and_change_nothing(
    api: Api, mail_sink: MailSink
) -> None:
    await register(api, "bob", "bob@example.com")
    await register(api)  # the first of SEND_MAX mails
    # Counted by the registration's mail job, which counts only while the account still has
    # ADDRESS: once the mail is out, the count is in before the edits below.
    await mail_sink.next_to(ADDRESS)
    headers = await bearer(api)
    body = {"email": "BOB@example.com", "old_password": PASSWORD}
    taken = await api.post("/account/edit", body, headers=headers)
    assert taken.status == 409, taken.body
    for n in range(SEND_MAX - 2):
        body = {"email": f"alice{n}@example.org", "old_password": PASSWORD}
        assert (await api.post("/account/edit", body, headers=headers)).status == 200
    for address in ("bob@example.com", "carol@example.org"):
        body = {"email": address, "nickname": "Al", "old_password": PASSWORD}
        refused = await api.post("/account/edit", body, headers=headers)
        assert (refused.status, refused.body["code"]) == (429, 9)
        assert int(refused.headers["Retry-After"]) > 0
    user = (await api.get("/account/info", headers=headers)).body["user"]
    last = f"alice{SEND_MAX - 3}@example.org"
    assert (user["email"], user["nickname"]) == (last, "alice")
    await mail_sink.next_to(last)
    await mail_sink.assert_none_to("carol@example.org")


async def test_unusable_tokens_are_limited_per_client(api: Api, mail_sink: MailSink) -> None:
    await register(api)
    token = token_in(await mail_sink.next_to(ADDRESS))
    for _ in range(5):
        assert refused_as_invalid_token(await verify(api, "A" * 43 + "0000"))
    limited = await verify(api, token)
    assert (limited.status, limited.body["code"]) == (429, 9)
    assert "Retry-After" in limited.headers


async def test_no_token_reaches_the_logs(
    api: Api, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await register(api)
    token = token_in(await mail_sink.next_to(ADDRESS))
    assert (await verify(api, token)).status == 200
    assert refused_as_invalid_token(await verify(api, token))
    headers = await bearer(api)
    body = {"email": "alice@example.org", "old_password": PASSWORD}
    await api.post("/account/edit", body, headers=headers)
    second = token_in(await mail_sink.next_to("alice@example.org"))
    # The service's records, not those of the tests' own SMTP server (aiosmtpd's "mail.log").
    service = [record for record in caplog.records if not record.name.startswith("mail.")]
    logged = "\n".join(caplog.handler.format(record) for record in service)
    assert VERIFY_PATH in logged, "the access log was captured"
    assert "email_verified" in logged, "the security events were captured"
    assert token not in logged
    assert second not in logged
    assert "#token=" not in logged
