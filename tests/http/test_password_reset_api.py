"""Password reset over real sockets, against a real redis-server, the MongoDB-compatible server
and a real SMTP server (aiosmtpd): the mail, its token, the answers, the logs, the timing."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from typing import Any

import pytest
import redis as redis_sync
import tornado.web

from factsvc.config import Settings
from factsvc.services.mail_messages import RESET_SUBJECT
from tests.support.api import PASSWORD, Api, Reply
from tests.support.mail import MailSink, token_in
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=120)

NEW_PASSWORD = "a brand new secret"
ADDRESS = "alice@example.com"
RESET_PATH = "/password/reset"
TIMING_SAMPLES = 50
# How far the two medians may lie apart: a quarter of the larger (S07's measure), and never
# less than 2 ms, against the scheduling noise of a loaded machine.
TIMING_TOLERANCE = 0.25
TIMING_FLOOR_SECONDS = 0.002
# Long enough for a forgot's background work to end once its mail (if any) has arrived.
BACKGROUND_SECONDS = 0.03


@pytest.fixture
def app(
    request: pytest.FixtureRequest, app_factory: AppFactory, settings: Settings, mail_sink: MailSink
) -> tornado.web.Application:
    """The app on the test servers, mailing through `mail_sink`; a test parametrizes it
    (indirectly) with other settings by name."""
    changes: dict[str, object] = getattr(request, "param", {})
    return app_factory(
        with_settings(settings, smtp_url=mail_sink.url, mail_retry_seconds=0.05, **changes)
    )


async def verified_account(
    api: Api, mail_sink: MailSink, username: str = "alice", email: str = ADDRESS
) -> None:
    """Register `username` with `email` and verify the address with the mailed link."""
    registered = await api.post(
        "/register", {"username": username, "password": PASSWORD, "email": email}
    )
    assert registered.status == 201, registered.body
    token = token_in(await mail_sink.next_to(email), "/email/verify")
    verified = await api.post("/email/verify", {"token": token})
    assert verified.status == 200, verified.body


async def reset_token(api: Api, mail_sink: MailSink, email: str = ADDRESS) -> str:
    """Ask for a reset link for `email` and return the token of the mail that arrives."""
    asked = await api.post("/password/forgot", {"email": email})
    assert (asked.status, asked.body) == (202, {"code": 0, "message": ""})
    return token_in(await mail_sink.next_to(email), RESET_PATH)


def without_request_id(reply: Reply) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What two answers share when they are the same answer: status, body, headers."""
    body = {name: value for name, value in reply.body.items() if name != "request_id"}
    headers = {
        name: value
        for name, value in reply.headers.get_all()
        if name not in ("X-Request-Id", "Date", "Content-Length")
    }
    return reply.status, body, headers


async def test_the_mailed_token_resets_the_password_once_and_ends_every_session(
    api: Api, mail_sink: MailSink
) -> None:
    await verified_account(api, mail_sink)
    sessions = [(await api.login(session="token")).body["token"] for _ in range(2)]
    token = await reset_token(api, mail_sink, "ALICE@Example.com")

    done = await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})
    assert (done.status, done.body) == (200, {"code": 0, "message": ""})
    assert done.headers["Cache-Control"] == "no-store"
    for session in sessions:
        assert (await api.get("/account/info", token=session)).status == 401
    assert (await api.login(password=PASSWORD)).status == 401
    assert (await api.login(password=NEW_PASSWORD)).status == 200

    again = await api.post(RESET_PATH, {"token": token, "password": "yet another secret"})
    assert (again.status, again.code, again.body["message"]) == (
        400,
        1002,
        "invalid or expired link",
    )
    assert (await api.login(password=NEW_PASSWORD)).status == 200


async def test_every_unusable_token_gets_one_identical_answer(
    api: Api, mail_sink: MailSink, redis_direct: redis_sync.Redis
) -> None:
    await verified_account(api, mail_sink)
    used = await reset_token(api, mail_sink)
    assert (await api.post(RESET_PATH, {"token": used, "password": NEW_PASSWORD})).status == 200
    expired = await reset_token(api, mail_sink)
    keys = redis_direct.keys("factsvc:account-token:v1:*")
    assert keys, "the token is kept in Redis"
    for key in keys:
        assert 0 < redis_direct.ttl(key) <= 1800
        redis_direct.pexpire(key, 1)
    await asyncio.sleep(0.05)
    answers = [
        await api.post(RESET_PATH, {"token": token, "password": "a third new secret"})
        for token in (used, expired, "A" * 47, "not-a-token", "")
    ]
    first = without_request_id(answers[0])
    assert first[:2] == (400, {"code": 1002, "message": "invalid or expired link"})
    assert all(without_request_id(answer) == first for answer in answers)
    assert (await api.login(password=NEW_PASSWORD)).status == 200


async def test_a_refused_new_password_leaves_the_token_usable(
    api: Api, mail_sink: MailSink
) -> None:
    await verified_account(api, mail_sink)
    token = await reset_token(api, mail_sink)
    for password in ("password", "alice", "Alice-like but short"[:5]):
        refused = await api.post(RESET_PATH, {"token": token, "password": password})
        assert (refused.status, refused.code) == (400, 3)
        assert set(refused.body["errors"]) == {"password"}
    assert (await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})).status == 200


async def test_a_password_change_by_account_edit_voids_the_token(
    api: Api, mail_sink: MailSink
) -> None:
    await verified_account(api, mail_sink)
    token = await reset_token(api, mail_sink)
    session = (await api.login(session="token")).body["token"]
    edited = await api.post(
        "/account/edit", {"old_password": PASSWORD, "password": "changed by edit"}, token=session
    )
    assert edited.status == 200
    void = await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})
    assert (void.status, void.code) == (400, 1002)
    assert (await api.login(password="changed by edit")).status == 200


async def test_forgot_for_an_unknown_or_unverified_address_answers_the_same_and_mails_nothing(
    api: Api, mail_sink: MailSink
) -> None:
    await verified_account(api, mail_sink)
    registered = await api.post(
        "/register", {"username": "bob", "password": PASSWORD, "email": "bob@example.com"}
    )
    assert registered.status == 201
    assert (await api.register("carol")).status == 201
    known = await api.post("/password/forgot", {"email": ADDRESS})
    await mail_sink.next_to(ADDRESS)
    for body in (
        {"email": "nobody@example.com"},
        {"username": "nobody"},
        {"email": "BOB@example.com"},
        {"username": "bob"},
        {"username": "carol"},
    ):
        answer = await api.post("/password/forgot", body)
        assert without_request_id(answer) == without_request_id(known), body
    await asyncio.sleep(0.5)
    reset_mails = [mail.rcpt_tos for mail in mail_sink.mails if mail.subject == RESET_SUBJECT]
    assert reset_mails == [(ADDRESS,)]


async def test_the_token_appears_in_no_log_line(
    api: Api, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await verified_account(api, mail_sink)
    token = await reset_token(api, mail_sink)
    assert (await api.post(RESET_PATH, {"token": "A" * 47, "password": NEW_PASSWORD})).code == 1002
    assert (await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})).status == 200
    assert (await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})).code == 1002
    # Every record of the process but the test SMTP server's (aiosmtpd's "mail.log"), which
    # stands for the recipient's mail server and logs what it receives.
    lines = [
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("mail.")
    ]
    assert any("/password/reset" in line for line in lines), "the access log was captured"
    assert any("password_reset" in line for line in lines), "the security events were captured"
    assert not [line for line in lines if token in line]
    assert not [line for line in lines if NEW_PASSWORD in line]


@pytest.mark.parametrize(
    "app",
    [{"password_forgot_address_max": 1000, "password_forgot_client_max": 1000}],
    indirect=True,
)
async def test_forgot_answers_in_the_same_time_for_known_and_unknown_addresses(
    app: tornado.web.Application, api: Api, mail_sink: MailSink
) -> None:
    """Medians of TIMING_SAMPLES answers each, the two kinds interleaved, which goes first
    alternating; the work each leaves to the background (a look-up, and for the known address
    a token and a mail) ends before the next request, so that it weighs on neither kind."""
    await verified_account(api, mail_sink)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for index in range(TIMING_SAMPLES):
        pair = [("known", ADDRESS), ("unknown", f"nobody{index}@example.com")]
        for kind, email in pair if index % 2 else reversed(pair):
            started = time.perf_counter()
            answer = await api.post("/password/forgot", {"email": email})
            times[kind].append(time.perf_counter() - started)
            assert answer.status == 202, answer.body
            if kind == "known":
                await mail_sink.next_to(ADDRESS)
            await asyncio.sleep(BACKGROUND_SECONDS)
    known, unknown = (statistics.median(times[kind]) for kind in ("known", "unknown"))
    logging.getLogger(__name__).warning(
        "forgot medians of %d: known %.2f ms, unknown %.2f ms",
        TIMING_SAMPLES,
        known * 1000,
        unknown * 1000,
    )
    assert abs(known - unknown) <= max(TIMING_TOLERANCE * max(known, unknown), TIMING_FLOOR_SECONDS)


async def test_forgot_is_limited_per_address_and_per_client(
    settings: Settings, mail_sink: MailSink, api: Api
) -> None:
    await verified_account(api, mail_sink)
    per_address = settings.password_forgot_address_max
    for _ in range(per_address):
        assert (await api.post("/password/forgot", {"email": ADDRESS.upper()})).status == 202
    limited = await api.post("/password/forgot", {"email": ADDRESS})
    assert (limited.status, limited.code) == (429, 9)
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.body["retry_after"] == int(limited.headers["Retry-After"])


async def test_unusable_tokens_are_limited_per_client(
    api: Api, mail_sink: MailSink, settings: Settings
) -> None:
    await verified_account(api, mail_sink)
    token = await reset_token(api, mail_sink)
    for _ in range(settings.mail_token_client_max_failures):
        refused = await api.post(RESET_PATH, {"token": "A" * 47, "password": NEW_PASSWORD})
        assert refused.code == 1002
    limited = await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})
    assert (limited.status, limited.code) == (429, 9)
    assert "Retry-After" in limited.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"email": ADDRESS, "username": "alice"}, "body"),
        ({"email": "no address"}, "email"),
        ({"username": {"$ne": None}}, "username"),
        ({"email": ADDRESS, "admin": True}, "admin"),
    ],
)
async def test_a_malformed_forgot_body_is_a_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    refused = await api.post("/password/forgot", body)
    assert (refused.status, refused.code) == (400, 3)
    assert field in refused.body["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": NEW_PASSWORD}, "token"),
        ({"token": 5, "password": NEW_PASSWORD}, "token"),
        ({"token": "A" * 200, "password": NEW_PASSWORD}, "token"),
        ({"token": "A" * 47}, "password"),
    ],
)
async def test_a_malformed_reset_body_is_a_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    refused = await api.post(RESET_PATH, body)
    assert (refused.status, refused.code) == (400, 3)
    assert field in refused.body["errors"]
