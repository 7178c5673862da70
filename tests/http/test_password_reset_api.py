"""Password reset over real sockets, against a real redis-server, the MongoDB-compatible server
and a real SMTP server (aiosmtpd): the mail, its token, the answers, the logs, and an answer that
comes before the account's look-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import pytest
import redis as redis_sync
import tornado.ioloop
import tornado.web

from factsvc.account_composition import attempt_limits, common_passwords, open_account_base
from factsvc.app import make_app
from factsvc.config import Settings
from factsvc.services.mail_messages import RESET_SUBJECT
from factsvc.services.password_reset import PasswordResetService
from factsvc.services.users import StoredAccount
from factsvc.storage import mongo
from factsvc.storage.mongo import MongoClient, MongoCollection
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.redis_client import RedisClient
from tests.support.api import PASSWORD, Api, Reply
from tests.support.mail import MailSink, token_in
from tests.support.polling import eventually_async
from tests.support.real_stores import real_clients
from tests.support.servers import AppFactory, ServicesFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=120)

NEW_PASSWORD = "a brand new secret"
ADDRESS = "alice@example.com"
RESET_PATH = "/password/reset"


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


class HeldAccountStore(MongoAccountStore):
    """The real store, but each look-up by address or username waits for `release` (an event
    the test holds), after noting what it was asked for in `asked`."""

    def __init__(self, users: MongoCollection, release: asyncio.Event) -> None:
        super().__init__(users)
        self.release = release
        self.asked: list[str] = []

    async def find_by_email(self, email: str) -> StoredAccount | None:
        self.asked.append(email)
        await self.release.wait()
        return await super().find_by_email(email)

    async def find_by_username(self, username: str) -> StoredAccount | None:
        self.asked.append(username)
        await self.release.wait()
        return await super().find_by_username(username)


class TestForgotWithTheLookUpHeld:
    """POST /password/forgot served by a PasswordResetService whose account store holds every
    look-up until the test releases it: the answer cannot wait for the look-up, so it cannot
    tell, by its content or its time, whether an account matched. (The times themselves are
    measured by `make bench`: bench/forgot_timing.py.)"""

    @pytest.fixture
    def clients(
        self, io_loop: tornado.ioloop.IOLoop, settings: Settings
    ) -> Iterator[tuple[RedisClient, MongoClient]]:
        """Redis and MongoDB clients of the test servers for the held service, closed after
        the test."""
        stack = AsyncExitStack()
        yield io_loop.run_sync(lambda: stack.enter_async_context(real_clients(settings)))
        io_loop.run_sync(stack.aclose)

    @pytest.fixture
    def held_store(
        self, settings: Settings, clients: tuple[RedisClient, MongoClient]
    ) -> HeldAccountStore:
        users = mongo.collection(clients[1], settings.mongodb_name, "users")
        return HeldAccountStore(users, asyncio.Event())

    @pytest.fixture
    def app(
        self,
        io_loop: tornado.ioloop.IOLoop,
        services_factory: ServicesFactory,
        settings: Settings,
        mail_sink: MailSink,
        clients: tuple[RedisClient, MongoClient],
        held_store: HeldAccountStore,
    ) -> tornado.web.Application:
        """The app on the test servers, mailing through `mail_sink`, with its forgot and reset
        built as the composition root builds them (account_composition) but over
        `held_store`."""
        mailing = with_settings(settings, smtp_url=mail_sink.url, mail_retry_seconds=0.05)
        services = services_factory(mailing)
        redis, client = clients
        base = io_loop.run_sync(
            lambda: open_account_base(
                mailing, redis=redis, mongo_client=client, hashing=services.pools["bcrypt"]
            )
        )
        assert services.account_tokens is not None
        assert services.background is not None
        assert services.outbox is not None
        assert services.mail_links is not None
        held = PasswordResetService(
            store=held_store,
            tokens=services.account_tokens,
            sessions=base.sessions,
            hasher=base.hasher,
            limiter=base.limiter,
            limits=attempt_limits(mailing),
            common_passwords=common_passwords(),
            background=services.background,
            outbox=services.outbox,
            links=services.mail_links,
            delay_max_seconds=mailing.password_forgot_delay_max_seconds,
        )
        return make_app(mailing, replace(services, password_reset=held))

    async def test_the_answer_comes_before_the_look_up_and_is_the_same_for_any_address(
        self, api: Api, mail_sink: MailSink, held_store: HeldAccountStore
    ) -> None:
        await verified_account(api, mail_sink)
        answers = {}
        for email in (ADDRESS, "nobody@example.com"):
            # Not a timing: a guard, so that an answer that waits for the look-up (which waits
            # for the test) fails here rather than at the test's timeout.
            answers[email] = await asyncio.wait_for(
                api.post("/password/forgot", {"email": email}), HELD_ANSWER_GUARD_SECONDS
            )
        known, unknown = answers.values()
        assert (known.status, known.body) == (202, {"code": 0, "message": ""})
        assert same_answer(known) == same_answer(unknown)
        await eventually_async(
            lambda: len(held_store.asked) == 2,
            10.0,
            "both look-ups reached the held store",
            pause=0.01,
        )
        assert held_store.asked == [ADDRESS, "nobody@example.com"]
        await mail_sink.assert_none_to(ADDRESS, seconds=0.2)

        held_store.release.set()
        token = token_in(await mail_sink.next_to(ADDRESS), RESET_PATH)
        reset = await api.post(RESET_PATH, {"token": token, "password": NEW_PASSWORD})
        assert reset.status == 200
        await mail_sink.assert_none_to("nobody@example.com", seconds=0.2)


# How long an answer may take while the look-up is held before the test calls it stuck.
HELD_ANSWER_GUARD_SECONDS = 10.0


def same_answer(reply: Reply) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """Status, body and every header but Date and X-Request-Id (which differ by nature)."""
    headers = [
        (name, value)
        for name, value in reply.headers.get_all()
        if name not in ("Date", "X-Request-Id")
    ]
    return reply.status, reply.body, sorted(headers)


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
