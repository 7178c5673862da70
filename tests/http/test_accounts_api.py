"""The account API over real sockets, against a real redis-server and MongoDB-compatible server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import bcrypt
import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.account_composition import cookie_secrets
from factsvc.app import open_services
from factsvc.config import Settings
from factsvc.errors import BadCredentials, Overloaded
from factsvc.services.passwords import PasswordHasher
from tests.support.api import PASSWORD, Api, session_cookie_name
from tests.support.fakes import InlineRunner
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

USER_FIELDS = {
    "id",
    "username",
    "nickname",
    "gender",
    "create_time",
    "update_time",
    "avatar_url",
    "email",
    "email_verified",
}
CLIENT_LIMIT = 5


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, login_client_max_failures=CLIENT_LIMIT))


async def test_a_browser_registers_logs_in_edits_and_logs_out_with_a_cookie(api: Api) -> None:
    registered = await api.register("Alice")
    assert registered.status == 201
    assert registered.body["code"] == 0
    assert set(registered.body["user"]) == USER_FIELDS
    assert registered.body["user"]["username"] == "alice"
    assert registered.set_cookies() == [], "registering does not log in"

    login = await api.login("ALICE")
    assert login.status == 200
    assert login.body["user"] == registered.body["user"]
    assert len(login.body["token"]) >= 43
    (cookie,) = login.set_cookies()
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "secure"} <= flags
    assert "domain" not in flags
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie

    logined = await api.get("/isLogined")
    assert (logined.body["logined"], logined.body["user"]) == (True, registered.body["user"])
    info = await api.get("/account/info")
    assert info.body["user"] == registered.body["user"]
    assert info.headers["Cache-Control"] == "no-store"

    edited = await api.post("/account/edit", {"nickname": "Al", "gender": "f"})
    assert edited.status == 200
    assert (edited.body["user"]["nickname"], edited.body["user"]["gender"]) == ("Al", "f")
    assert (await api.get("/account/info")).body["user"] == edited.body["user"]

    logout = await api.post("/logout")
    assert (logout.status, logout.code) == (200, 0)
    assert api.cookies == {}, "the cookie is expired"
    assert (await api.get("/isLogined")).body == {
        "code": 0,
        "message": "",
        "logined": False,
        "user": None,
    }


async def test_a_mobile_client_uses_the_token_as_a_bearer(api: Api) -> None:
    await api.register()
    token = (await api.login()).body["token"]
    api.cookies.clear()
    assert (await api.get("/account/info", token=token)).body["user"]["username"] == "alice"
    assert (await api.post("/account/edit", {"nickname": "A"}, token=token)).status == 200
    assert (await api.post("/logout", token=token)).status == 200
    replay = await api.get("/account/info", token=token)
    assert (replay.status, replay.code) == (401, 4)


async def test_a_cookie_replayed_after_logout_is_refused(api: Api, base_url: str) -> None:
    await api.register()
    await api.login()
    stolen = dict(api.cookies)
    await api.post("/logout")
    api.cookies = stolen
    for reply in (await api.get("/account/info"), await api.post("/logout")):
        assert (reply.status, reply.code) == (401, 4)


async def test_without_a_session_account_endpoints_answer_401_and_is_logined_200(
    api: Api, settings: Settings
) -> None:
    forged = {"Cookie": f"{session_cookie_name(settings)}=forged"}
    assert (await api.get("/isLogined")).status == 200
    for reply in (
        await api.get("/account/info"),
        await api.post("/account/edit", {"nickname": "x"}),
        await api.post("/logout"),
        await api.get("/account/info", token="not-a-token"),
        await api.get("/account/info", headers={"Authorization": "Basic YWxpY2U6eA=="}),
        await api.get("/account/info", headers=forged),
    ):
        assert (reply.status, reply.code) == (401, 4)


async def test_logout_is_post_only(api: Api) -> None:
    reply = await api.get("/logout")
    assert (reply.status, reply.code) == (405, 5)
    assert reply.headers["Allow"] == "POST, OPTIONS"


async def test_twenty_concurrent_registrations_of_one_name_give_one_account(
    api: Api, users: Any
) -> None:
    replies = await asyncio.gather(*(api.register("racer", f"{PASSWORD} {i}") for i in range(20)))
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201] + [409] * 19
    assert {reply.code for reply in replies if reply.status == 409} == {8}
    assert users.count_documents({"username": "racer"}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"username": {"$ne": None}, "password": {"$ne": None}},
        {"username": {"$regex": ".*"}, "password": PASSWORD},
        {"username": "alice", "password": {"$gt": ""}},
        {"username": ["alice"], "password": PASSWORD},
    ],
)
async def test_operator_injection_at_login_is_refused(api: Api, body: dict[str, Any]) -> None:
    await api.register()
    reply = await api.post("/login", body)
    assert (reply.status, reply.code) == (400, 3)
    assert "username" in reply.body["errors"] or "password" in reply.body["errors"]


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": {"$set": {"username": "root"}}},
        {"nickname": "ok", "username": "mallory"},
        {"nickname": "ok", "password_hash": "$2b$04$" + "x" * 53},
        {"nickname": "ok", "_id": "000000000000000000000000"},
        {"nickname": "ok", "create_time": "1970-01-01T00:00:00Z"},
        {"gender": ["m"]},
        {"$set": {"nickname": "x"}},
    ],
)
async def test_injection_and_mass_assignment_leave_the_stored_document_unchanged(
    api: Api, users: Any, body: dict[str, Any]
) -> None:
    await api.register()
    await api.login()
    before = users.find_one({"username": "alice"})
    reply = await api.post("/account/edit", body)
    assert (reply.status, reply.code) == (400, 3)
    assert users.find_one({"username": "alice"}) == before


async def test_stored_documents_hold_a_bcrypt_hash_and_responses_never_show_it(
    api: Api, users: Any
) -> None:
    registered = await api.register()
    document = users.find_one({"username": "alice"})
    assert document["password_hash"].startswith("$2b$04$")
    assert PASSWORD not in str(document)
    assert "password_hash" not in registered.body["user"]
    assert "$2b$" not in registered.response.body.decode()


async def test_a_hash_of_a_lower_cost_is_upgraded_at_login(
    api: Api, users: Any, settings: Settings
) -> None:
    await api.register()
    low = PasswordHasher(InlineRunner(), rounds=4, pepper=settings.password_pepper)
    users.update_one({"username": "alice"}, {"$set": {"password_hash": await low.hash(PASSWORD)}})
    assert settings.bcrypt_rounds == 4
    # The same data behind a service configured with a higher cost.
    async with open_services(with_settings(settings, bcrypt_rounds=5)) as stronger:
        await stronger.accounts.login({"username": "alice", "password": PASSWORD}, "c")
    assert users.find_one({"username": "alice"})["password_hash"].startswith("$2b$05$")


async def test_login_replaces_a_session_the_client_already_had(api: Api) -> None:
    await api.register()
    first = (await api.login()).body["token"]
    fixed_cookie = dict(api.cookies)
    second = (await api.login()).body["token"]
    assert second != first
    assert (await api.get("/account/info", token=first)).status == 401
    api.cookies = fixed_cookie
    assert (await api.get("/account/info")).status == 401
    assert (await api.get("/account/info", token=second)).status == 200


async def test_a_password_change_ends_other_sessions_and_rotates_this_one(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    phone, browser = Api(http_client, base_url), Api(http_client, base_url)
    await browser.register()
    phone_token = (await phone.login()).body["token"]
    old_browser_token = (await browser.login()).body["token"]
    old_cookie = dict(browser.cookies)

    wrong = await browser.post(
        "/account/edit", {"password": "new secret words", "old_password": "not it at all"}
    )
    assert (wrong.status, wrong.code) == (403, 1001)

    changed = await browser.post(
        "/account/edit", {"password": "new secret words", "old_password": PASSWORD}
    )
    assert changed.status == 200
    assert "token" not in changed.body, "a cookie client gets its new session as the cookie"
    assert browser.cookies != old_cookie
    assert (await browser.get("/account/info")).status == 200
    for token in (phone_token, old_browser_token):
        assert (await phone.get("/account/info", token=token)).status == 401
    assert (await phone.login()).status == 401
    assert (await phone.login(password="new secret words")).status == 200


@pytest.mark.parametrize(
    ("password", "octets"),
    [("p" * 72, 72), ("p" * 73, 73), ("é" * 64, 128), ("é" * 100, 200)],
)
async def test_long_passwords_register_and_log_in(api: Api, password: str, octets: int) -> None:
    assert len(password.encode()) == octets
    assert (await api.register(password=password)).status == 201
    assert (await api.login(password=password)).status == 200
    near_miss = password[:-1] + ("q" if password[-1] != "q" else "r")
    assert (await api.login(password=near_miss)).status == 401


@pytest.mark.parametrize(
    ("password", "reason"), [("password", "common"), ("12345678", "common"), ("short", "8-128")]
)
async def test_weak_passwords_are_refused(api: Api, password: str, reason: str) -> None:
    reply = await api.register(password=password)
    assert (reply.status, reply.code) == (400, 3)
    assert reason in reply.body["errors"]["password"]


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"username=alice&password=x", "application/x-www-form-urlencoded", 415),
        (b'{"username": "alice"}', "text/plain", 415),
        (b'{"username": "alice"}', "application/json; charset=latin-1", 415),
        (b"{not json", "application/json", 400),
        (b'["alice"]', "application/json", 400),
        (b'"alice"', "application/json", 400),
        (b'{"username": "a", "username": "b", "password": "x"}', "application/json", 400),
        (b'{"username": "alice", "password": NaN}', "application/json", 400),
        (b"[" * 20_000 + b"]" * 20_000, "application/json", 400),
        (b'{"username": "\xff\xfe"}', "application/json", 400),
        (b"", "application/json", 400),
    ],
)
async def test_bodies_that_are_not_one_json_object_are_refused(
    api: Api, raw: bytes, content_type: str, status: int
) -> None:
    reply = await api.post("/register", raw=raw, content_type=content_type)
    assert (reply.status, reply.code) == (status, 3)


async def test_repeated_login_failures_get_429_with_retry_after(
    api: Api, settings: Settings
) -> None:
    await api.register()
    for _ in range(CLIENT_LIMIT):
        assert (await api.login(password="wrong password!")).status == 401
    limited = await api.login()
    assert (limited.status, limited.code) == (429, 9)
    assert 1 <= int(limited.headers["Retry-After"]) <= settings.login_client_window_seconds


async def test_unknown_user_and_wrong_password_run_the_same_bcrypt_check(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same time by construction, counted rather than timed (a wall-clock ratio is noise on
    # a loaded machine): each refusal runs exactly one bcrypt check at the configured cost,
    # against the stored hash or against the dummy hash made at start (the times themselves:
    # bench/login_timing.py). Cost 6, above bcrypt's lowest: a dummy at a fixed low cost shows.
    costly = with_settings(settings, bcrypt_rounds=6)
    async with open_services(costly) as services:
        accounts = services.accounts
        await accounts.register({"username": "alice", "password": PASSWORD}, "192.0.2.9")
        runner = services.pools["bcrypt"]
        run = runner.run
        jobs: list[tuple[object, tuple[object, ...]]] = []

        async def recording_run(function: Callable[..., object], *args: object) -> object:
            jobs.append((function, args))
            return await run(function, *args)

        monkeypatch.setattr(runner, "run", recording_run)

        async def refused_login_jobs(username: str) -> list[tuple[object, int]]:
            jobs.clear()
            with pytest.raises(BadCredentials):
                await accounts.login({"username": username, "password": "wrong guess"}, "c")
            return [(function, bcrypt_cost(args[1])) for function, args in jobs]

        wrong = await refused_login_jobs("alice")
        unknown = await refused_login_jobs("nobody")
    assert wrong == [(bcrypt.checkpw, 6)]
    assert unknown == wrong


def bcrypt_cost(hashed: object) -> int:
    """The cost in a bcrypt hash ($2b$12$...)."""
    assert isinstance(hashed, bytes), hashed
    return int(hashed.split(b"$")[2])


async def test_no_password_cookie_or_token_reaches_the_logs(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "Canary-Pa55word-7f3a9c"
    caplog.set_level(logging.DEBUG)
    await api.register("canary", canary)
    login = await api.login("canary", canary)
    await api.post("/account/edit", {"password": canary + "-new", "old_password": canary})
    await api.login("canary", "wrong " + canary)
    await api.post("/logout")
    secrets_seen = [canary, login.body["token"], *login.set_cookies()]
    text = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert caplog.records, "the run must have logged something"
    for secret in secrets_seen:
        assert secret.split(";")[0].split("=", 1)[-1] not in text


async def test_a_full_bcrypt_queue_answers_503_at_once(
    http_client: AsyncHTTPClient, base_url: str, app_factory: AppFactory, settings: Settings
) -> None:
    api = Api(http_client, base_url)
    await api.register()
    no_wait = with_settings(
        settings, bcrypt_rounds=12, bcrypt_max_pending=1, bcrypt_max_wait_seconds=0
    )
    async with open_services(no_wait) as s:
        body = {"username": "alice", "password": PASSWORD}
        slow = asyncio.ensure_future(s.accounts.login(body, "192.0.2.1"))
        deadline = time.monotonic() + 5
        while s.pools["bcrypt"].pending == 0:  # until the first login is hashing
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        started = time.perf_counter()
        with pytest.raises(Overloaded):
            await s.accounts.login(body, "192.0.2.2")
        assert time.perf_counter() - started < 0.05
        assert (await slow).user.username == "alice"


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/login", b'{"username": "al\\ud800ice", "password": "whatever1"}'),
        ("/login", b'{"username": "alice", "password": "\\udfff\\udfff\\udfff\\udfff"}'),
        ("/register", b'{"username": "alice", "password": "\\ud800 long enough"}'),
        ("/account/edit", b'{"password": "brand new secret", "old_password": "\\ud800xxxxxxx"}'),
        ("/account/edit", b'{"nickname": "x", "\\ud800": 1}'),
    ],
)
async def test_lone_surrogates_anywhere_in_a_body_are_refused(
    api: Api, path: str, raw: bytes
) -> None:
    await api.register()
    await api.login()
    reply = await api.post(path, raw=raw)
    assert (reply.status, reply.code) == (400, 3)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b'{"username": "a", "username": "b", "password": "x"}', '"username"'),
        (b'{"\\ud800\\n\xc3\xa9": 1, "\\ud800\\n\xc3\xa9": 2}', '"\\ud800\\n\\u00e9"'),
        (b'{"' + b"k" * 5000 + b'": 1, "' + b"k" * 5000 + b'": 2}', '"' + "k" * 40 + '"...'),
    ],
)
async def test_a_duplicate_key_is_named_readably(api: Api, raw: bytes, shown: str) -> None:
    reply = await api.post("/register", raw=raw)
    assert (reply.status, reply.code) == (400, 3)
    assert reply.body["errors"] == {"body": "duplicate key: " + shown}


async def test_concurrent_wrong_logins_cannot_exceed_the_client_limit(api: Api) -> None:
    await api.register()
    replies = await asyncio.gather(*(api.login(password="wrong password!") for _ in range(12)))
    assert sorted(reply.status for reply in replies) == [401] * CLIENT_LIMIT + [429] * (
        12 - CLIENT_LIMIT
    )


async def test_spoofed_forwarding_headers_do_not_escape_the_client_limit(api: Api) -> None:
    await api.register()
    for i in range(CLIENT_LIMIT):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-Ip": f"198.51.100.{i}"}
        body = {"username": "alice", "password": "wrong password!"}
        assert (await api.post("/login", body, headers=spoofed)).status == 401
    limited = await api.post(
        "/login",
        {"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "1.1.1.1"},
    )
    assert limited.status == 429


async def test_unknown_user_and_wrong_password_get_identical_answers(api: Api) -> None:
    await api.register()
    wrong = await api.login(password="wrong password!")
    unknown = await api.login(username="nobody", password="wrong password!")
    varying = {"Date", "X-Request-Id"}

    def comparable(reply: Any) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        body = {k: v for k, v in reply.body.items() if k != "request_id"}
        headers = sorted((k, v) for k, v in reply.headers.get_all() if k not in varying)
        return reply.status, body, headers

    assert comparable(wrong) == comparable(unknown)
    assert wrong.status == 401
    assert wrong.code == 1001


async def test_cookies_signed_with_a_previous_secret_still_work_while_listed(
    api: Api, settings: Settings
) -> None:
    new_secret = "new-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    name = session_cookie_name(settings)
    await api.register()
    await api.login()
    issued = api.cookies[name].strip('"')
    # The test app signed it with settings.session_cookie_secret: after a rotation, it is
    # accepted only while that secret is listed as a previous one.
    rotated = with_settings(
        settings,
        session_cookie_secret=new_secret,
        session_cookie_secrets_previous=(settings.session_cookie_secret,),
    )
    forgotten = with_settings(settings, session_cookie_secret=new_secret)
    for config, accepted in ((rotated, True), (forgotten, False)):
        secrets_by_version, _ = cookie_secrets(config)
        value = tornado.web.decode_signed_value(secrets_by_version, name, issued, min_version=2)
        assert (value is not None) == accepted
