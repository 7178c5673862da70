"""POST /account/delete over real sockets, against a real redis-server and MongoDB-compatible
server: bearer and cookie clients, what is left afterwards, and what a new account of the same
name gets."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable
from factsvc.storage import mongo
from factsvc.storage.mongo_avatars import MongoAvatarStore
from tests.support import images
from tests.support.api import PASSWORD, Api, Reply, session_cookie_name
from tests.support.credential_races import hold
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

ACCOUNT_LIMIT = 4
TRUSTED = "https://app.example"
FOREIGN = "https://evil.example"
KEY = "delete-0123456789abcdef"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return with_settings(
        settings, login_account_max_failures=ACCOUNT_LIMIT, cors_origins=(TRUSTED,)
    )


@pytest.fixture
def avatars(settings: Settings) -> Any:
    """The avatar files of the test's database, through the production adapter."""
    client = mongo.make_mongo_client(settings)
    yield MongoAvatarStore(client, settings.mongodb_name)
    client.close()


def comparable(reply: Reply) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """A reply without what varies between any two requests."""
    body = {k: v for k, v in reply.body.items() if k != "request_id"}
    headers = sorted(
        (k, v) for k, v in reply.headers.get_all() if k not in {"Date", "X-Request-Id"}
    )
    return reply.status, body, headers


def expires(reply: Reply, name: str) -> bool:
    """Whether the answer expires the session cookie (one Set-Cookie, empty, dated)."""
    (header,) = reply.set_cookies()
    morsel = SimpleCookie(header)[name]
    return morsel.value == "" and bool(morsel["expires"])


async def registered(api: Api, username: str = "alice") -> str:
    reply = await api.register(username)
    assert reply.status == 201
    return str(reply.body["user"]["id"])


async def test_a_cookie_client_deletes_its_account_and_every_session_ends(
    http_client: AsyncHTTPClient,
    base_url: str,
    avatars: MongoAvatarStore,
    users: Any,
    app_settings: Settings,
) -> None:
    browser, phone = Api(http_client, base_url), Api(http_client, base_url)
    user_id = await registered(browser)
    avatar_id = await avatars.put(user_id, b"RIFF-webp", "image/webp")
    assert (await browser.login(session="cookie")).status == 200
    cookie = dict(browser.cookies)
    token = (await phone.login(session="token")).body["token"]

    deleted = await browser.post("/account/delete", {"password": PASSWORD})
    assert deleted.status == 200
    assert deleted.body == {"code": 0, "message": ""}
    assert deleted.headers["Cache-Control"] == "no-store"
    assert expires(deleted, session_cookie_name(app_settings))
    assert browser.cookies == {}

    browser.cookies = cookie  # replayed
    assert (await browser.get("/account/info")).status == 401
    assert (await phone.get("/account/info", token=token)).status == 401
    assert (await phone.get("/isLogined", token=token)).body["logined"] is False
    assert users.find_one({"username": "alice"}) is None
    assert await avatars.open(avatar_id) is None


async def test_a_bearer_client_deletes_its_account_and_gets_no_cookie(api: Api) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    deleted = await api.post("/account/delete", {"password": PASSWORD}, token=token)
    assert deleted.status == 200
    assert deleted.set_cookies() == []
    assert (await api.get("/account/info", token=token)).status == 401


async def test_after_the_deletion_login_fails_exactly_as_for_an_unknown_user(api: Api) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    assert (await api.post("/account/delete", {"password": PASSWORD}, token=token)).status == 200
    deleted = await api.login()
    unknown = await api.login(username="nobody")
    assert comparable(deleted) == comparable(unknown)
    assert (deleted.status, deleted.code) == (401, 1001)


async def test_a_wrong_password_is_403_counted_and_429_past_the_accounts_limit(
    api: Api, users: Any
) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    wrong = await api.post("/account/delete", {"password": "not the password"}, token=token)
    assert (wrong.status, wrong.code, wrong.body["message"]) == (403, 1001, "wrong password")
    assert (await api.login(password="not the password either")).status == 401
    for _ in range(ACCOUNT_LIMIT - 2):
        refused = await api.post("/account/delete", {"password": "still wrong"}, token=token)
        assert refused.status == 403
    limited = await api.post("/account/delete", {"password": PASSWORD}, token=token)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert (await api.login()).status == 429, "the same limit as failed logins"
    assert (await api.get("/account/info", token=token)).status == 200
    assert users.find_one({"username": "alice"}) is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "password"),
        ({"password": ""}, "password"),
        ({"password": 12345678}, "password"),
        ({"password": {"$ne": None}}, "password"),
        ({"password": PASSWORD, "username": "bob"}, "username"),
    ],
)
async def test_a_bad_body_is_400_and_deletes_nothing(
    api: Api, users: Any, body: dict[str, Any], field: str
) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    refused = await api.post("/account/delete", body, token=token)
    assert refused.status == 400
    assert field in refused.body["errors"]
    assert users.find_one({"username": "alice"}) is not None


async def test_without_a_session_the_deletion_is_401(api: Api, users: Any) -> None:
    await registered(api)
    assert (await api.post("/account/delete", {"password": PASSWORD})).status == 401
    refused = await api.post("/account/delete", {"password": PASSWORD}, token="x" * 47)
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert users.find_one({"username": "alice"}) is not None


@pytest.mark.parametrize(
    "headers", [{"Origin": FOREIGN}, {"Sec-Fetch-Site": "cross-site", "Origin": FOREIGN}]
)
async def test_a_cross_origin_deletion_with_a_cookie_is_refused(
    api: Api, users: Any, headers: dict[str, str]
) -> None:
    await registered(api)
    assert (await api.login(session="cookie")).status == 200
    refused = await api.post("/account/delete", {"password": PASSWORD}, headers=headers)
    assert (refused.status, refused.code) == (403, 5)
    assert users.find_one({"username": "alice"}) is not None
    assert (await api.get("/account/info")).status == 200
    trusted = await api.post("/account/delete", {"password": PASSWORD}, headers={"Origin": TRUSTED})
    assert trusted.status == 200


async def test_a_cross_origin_deletion_by_bearer_alone_passes(api: Api) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    deleted = await api.post(
        "/account/delete", {"password": PASSWORD}, token=token, headers={"Origin": FOREIGN}
    )
    assert deleted.status == 200


async def test_a_retry_with_the_idempotency_key_gets_the_same_200(
    api: Api, app_settings: Settings
) -> None:
    await registered(api)
    assert (await api.login(session="cookie")).status == 200
    cookie = dict(api.cookies)
    body, headers = {"password": PASSWORD}, {"Idempotency-Key": KEY}
    first = await api.post("/account/delete", body, headers=headers)
    assert first.status == 200
    api.cookies = dict(cookie)  # the answer was lost: the client still holds the cookie
    again = await api.post("/account/delete", body, headers=headers)
    assert again.status == 200
    assert again.body == first.body == {"code": 0, "message": ""}
    assert expires(again, session_cookie_name(app_settings)), "the kept answer's too"
    assert api.cookies == {}
    api.cookies = dict(cookie)
    assert (await api.post("/account/delete", body)).status == 401, "without the key"


async def test_the_username_is_free_again_and_the_new_account_shares_nothing(
    http_client: AsyncHTTPClient, base_url: str, avatars: MongoAvatarStore
) -> None:
    old, new = Api(http_client, base_url), Api(http_client, base_url)
    old_id = await registered(old)
    await avatars.put(old_id, b"RIFF-webp", "image/webp")
    token = (await old.login(session="token")).body["token"]
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await old.login(password="a wrong guess")).status == 401
    assert (await old.post("/account/delete", {"password": PASSWORD}, token=token)).status == 200

    new_id = await registered(new)
    assert new_id != old_id
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await new.login(password="a wrong guess")).status == 401, "no old failures"
    login = await new.login(session="token")
    assert login.status == 200
    assert login.body["user"]["id"] == new_id
    assert login.body["user"]["avatar_url"] is None
    assert (await new.get("/account/info", token=token)).status == 401
    info = await new.get("/account/info", token=login.body["token"])
    assert info.body["user"]["id"] == new_id


async def test_a_registration_key_of_the_deleted_account_runs_again_for_the_new_one(
    api: Api,
) -> None:
    body, headers = {"username": "alice", "password": PASSWORD}, {"Idempotency-Key": KEY}
    first = await api.post("/register", body, headers=headers)
    assert first.status == 201
    replayed = await api.post("/register", body, headers=headers)
    assert replayed.body["user"] == first.body["user"]
    token = (await api.login(session="token")).body["token"]
    assert (await api.post("/account/delete", {"password": PASSWORD}, token=token)).status == 200
    again = await api.post("/register", body, headers=headers)
    assert again.status == 201
    assert again.body["user"]["id"] != first.body["user"]["id"]
    login = await api.login(session="token")
    assert login.body["user"]["id"] == again.body["user"]["id"]


async def test_over_http_a_login_held_across_the_deletion_opens_no_session(
    services: Services, http_client: AsyncHTTPClient, base_url: str
) -> None:
    owner, racer = Api(http_client, base_url), Api(http_client, base_url)
    await registered(owner)
    token = (await owner.login(session="token")).body["token"]
    # The service's own MongoDB adapter, held after the login's read of the account: the
    # deletion then runs from start to end before the login goes on.
    gate = hold(services.accounts._store, "find_by_username", after=True)
    login = asyncio.ensure_future(racer.login(session="token"))
    await gate.reached.wait()
    deleted = await owner.post("/account/delete", {"password": PASSWORD}, token=token)
    assert deleted.status == 200
    gate.release()
    refused = await login
    assert (refused.status, refused.code) == (401, 1001)
    assert "token" not in refused.body
    assert (await racer.login()).status == 401


async def test_an_uploaded_avatar_is_gone_with_the_account(api: Api) -> None:
    await registered(api)
    token = (await api.login(session="token")).body["token"]
    uploaded = await api.request(
        "PUT", "/account/avatar", raw=images.png(), token=token, content_type="image/png"
    )
    assert uploaded.status == 200
    url = uploaded.body["user"]["avatar_url"]
    served = await api.client.fetch(api.base_url + url, raise_error=False)
    assert served.code == 200
    assert (await api.post("/account/delete", {"password": PASSWORD}, token=token)).status == 200
    gone = await api.client.fetch(api.base_url + url, raise_error=False)
    assert gone.code == 404


async def test_an_outage_part_way_is_503_with_time_to_log_in_again_and_the_cookie_expired(
    api: Api, services: Services, app_settings: Settings, users: Any, monkeypatch: Any
) -> None:
    await registered(api)
    assert (await api.login(session="cookie")).status == 200

    async def unavailable(owner: str) -> None:
        raise DependencyUnavailable({"mongodb": "unavailable"})

    monkeypatch.setattr(services.avatar_store, "delete_owned_by", unavailable)
    interrupted = await api.post("/account/delete", {"password": PASSWORD})
    assert interrupted.status == 503
    assert interrupted.body["code"] == 10
    # The sessions are gone: the client logs in again once the fence lets it, not in 1 s.
    retry_after = int(interrupted.headers["Retry-After"])
    assert retry_after > 2 * app_settings.mongodb_timeout_ms / 1000
    assert interrupted.body["retry_after"] == retry_after
    assert expires(interrupted, session_cookie_name(app_settings))
    assert users.find_one({"username": "alice"}) is not None

    monkeypatch.undo()
    await asyncio.sleep(retry_after)
    assert (await api.login(session="cookie")).status == 200
    assert (await api.post("/account/delete", {"password": PASSWORD})).status == 200
    assert users.find_one({"username": "alice"}) is None
