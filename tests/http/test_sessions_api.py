"""The sessions a user can see and end, over real sockets against a real redis-server and
MongoDB-compatible server: GET /account/sessions and POST /account/sessions/revoke, by cookie
and by bearer clients."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
import redis as redis_sync
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.services.sessions import user_tag
from factsvc.storage.redis_client import hash_tag
from factsvc.storage.redis_sessions import SESSION_PREFIX, USER_INDEX_PREFIX
from tests.support.api import Api, Reply, session_cookie_name
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

FIELDS = {"id", "created_at", "last_used_at", "client", "user_agent", "current"}
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
MAX_PER_USER = 4


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, session_max_per_user=MAX_PER_USER))


class Client(Api):
    """An Api logged in as one user in one mode ("cookie" or "token"), with a User-Agent."""

    token: str | None = None
    user_agent: str | None = None

    async def start(self, username: str, mode: str, user_agent: str = WINDOWS_FIREFOX) -> Client:
        self.user_agent = user_agent
        login = await self.login(username, session=mode, headers={"User-Agent": user_agent})
        assert login.status == 200
        self.token = login.body.get("token")
        return self

    async def sessions(self) -> Reply:
        return await self.get("/account/sessions", token=self.token)

    async def listed(self) -> list[dict[str, object]]:
        reply = await self.sessions()
        assert reply.status == 200, reply.body
        sessions = reply.body["sessions"]
        assert isinstance(sessions, list)
        return sessions

    async def current_id(self) -> str:
        (current,) = [item for item in await self.listed() if item["current"]]
        return str(current["id"])

    async def revoke(self, body: object, **kwargs: object) -> Reply:
        return await self.post("/account/sessions/revoke", body, token=self.token, **kwargs)

    async def alive(self) -> bool:
        reply = await self.get("/account/info", token=self.token)
        assert reply.status in (200, 401)
        return reply.status == 200


Start = Callable[..., Awaitable[Client]]


@pytest.fixture
def start(http_client: AsyncHTTPClient, base_url: str) -> Start:
    async def started(username: str, mode: str, user_agent: str = WINDOWS_FIREFOX) -> Client:
        return await Client(http_client, base_url).start(username, mode, user_agent)

    return started


async def register(api: Api, *usernames: str) -> None:
    for username in usernames:
        assert (await api.register(username)).status == 201


def iso_seconds(text: object) -> float:
    assert isinstance(text, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize("mode", ["cookie", "token"])
async def test_a_user_lists_their_live_sessions_newest_first_with_the_current_one_marked(
    api: Api, start: Start, mode: str
) -> None:
    await register(api, "alice", "mallory")
    phone = await start("alice", "token", ANDROID_CHROME)
    await start("mallory", "cookie")
    before = time.time()
    laptop = await start("alice", mode, WINDOWS_FIREFOX)
    reply = await laptop.sessions()
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    newest, oldest = reply.body["sessions"]
    assert set(newest) == set(oldest) == FIELDS
    assert (newest["current"], oldest["current"]) == (True, False)
    assert (newest["user_agent"], oldest["user_agent"]) == (
        "Firefox 121 on Windows",
        "Chrome Mobile 120 on Android",
    )
    assert newest["client"] == oldest["client"] == "127.0.0.1"
    assert iso_seconds(newest["created_at"]) >= before - 0.001 > iso_seconds(oldest["created_at"])
    assert iso_seconds(newest["last_used_at"]) >= iso_seconds(newest["created_at"])
    for item in (newest, oldest):
        assert re.fullmatch("[0-9a-f]{16}", str(item["id"]))
    assert newest["id"] != oldest["id"]
    assert phone.token is not None
    assert phone.token not in reply.response.body.decode()
    assert await phone.current_id() == oldest["id"], "the same id from every session"


async def test_a_session_revoked_by_id_gets_401_at_once(api: Api, start: Start) -> None:
    await register(api, "alice")
    cookie = await start("alice", "cookie")
    token = await start("alice", "token")
    victim = await cookie.current_id()
    assert await cookie.alive()
    revoked = await token.revoke({"id": victim})
    assert (revoked.status, revoked.body) == (200, {"code": 0, "message": "", "revoked": 1})
    assert revoked.set_cookies() == []
    assert not await cookie.alive()
    assert (await cookie.sessions()).status == 401
    assert [item["current"] for item in await token.listed()] == [True]
    again = await token.revoke({"id": victim})
    assert (again.status, again.code) == (404, 7)


@pytest.mark.parametrize("mode", ["cookie", "token"])
async def test_revoking_all_ends_every_other_session_and_keeps_the_current(
    api: Api, start: Start, mode: str
) -> None:
    await register(api, "alice", "mallory")
    others = [await start("alice", "cookie"), await start("alice", "token")]
    mallory = await start("mallory", "token")
    me = await start("alice", mode)
    revoked = await me.revoke({"all": True})
    assert (revoked.status, revoked.body["revoked"]) == (200, 2)
    assert revoked.set_cookies() == [], "the current cookie stays"
    assert await me.alive()
    for other in others:
        assert not await other.alive()
    assert await mallory.alive(), "another user's sessions are not touched"
    (only,) = await me.listed()
    assert only["current"] is True
    assert (await me.revoke({"all": True})).body["revoked"] == 0


async def test_revoking_the_current_session_by_cookie_expires_the_cookie(
    api: Api, start: Start, settings: Settings
) -> None:
    await register(api, "alice")
    me = await start("alice", "cookie")
    kept = dict(me.cookies)
    revoked = await me.revoke({"id": await me.current_id()})
    assert (revoked.status, revoked.body["revoked"]) == (200, 1)
    (header,) = revoked.set_cookies()
    assert header.startswith(session_cookie_name(settings) + "=;") or '=""' in header
    assert me.cookies == {}
    me.cookies = kept
    assert not await me.alive()


async def test_revoking_the_current_session_by_bearer_ends_the_token(
    api: Api, start: Start
) -> None:
    await register(api, "alice")
    me = await start("alice", "token")
    revoked = await me.revoke({"id": await me.current_id()})
    assert (revoked.status, revoked.body["revoked"]) == (200, 1)
    assert revoked.set_cookies() == []
    assert not await me.alive()


async def test_an_id_of_another_users_session_is_404_and_ends_nothing(
    api: Api, start: Start
) -> None:
    await register(api, "alice", "mallory")
    alice = await start("alice", "token")
    mallory = await start("mallory", "cookie")
    theirs = await alice.current_id()
    refused = await mallory.revoke({"id": theirs})
    assert (refused.status, refused.code, refused.body["message"]) == (404, 7, "not found")
    assert await alice.alive()
    assert await mallory.alive()
    unknown = await mallory.revoke({"id": "0" * 16})
    assert (unknown.status, unknown.code) == (404, 7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"id": "0123456789abcdef", "all": True}, "body"),
        ({"all": False}, "all"),
        ({"all": 1}, "all"),
        ({"all": "true"}, "all"),
        ({"id": "0123456789ABCDEF"}, "id"),
        ({"id": "0123"}, "id"),
        ({"id": 123}, "id"),
        ({"everything": True}, "everything"),
        ([], "body"),
        ("all", "body"),
    ],
)
async def test_a_malformed_revoke_is_400_and_ends_nothing(
    api: Api, start: Start, body: object, field: str
) -> None:
    await register(api, "alice")
    other = await start("alice", "cookie")
    me = await start("alice", "token")
    refused = await me.revoke(body)
    assert (refused.status, refused.code) == (400, 3)
    assert field in refused.body["errors"]
    assert await other.alive()
    assert len(await me.listed()) == 2


async def test_a_revoke_that_is_not_json_is_refused(api: Api, start: Start) -> None:
    await register(api, "alice")
    me = await start("alice", "token")
    for raw, content_type, status in (
        (b"{", "application/json", 400),
        (b'{"all": true}', "text/plain", 415),
    ):
        refused = await me.post(
            "/account/sessions/revoke", raw=raw, content_type=content_type, token=me.token
        )
        assert refused.status == status
    assert await me.alive()


async def test_without_a_live_session_both_routes_answer_401(api: Api) -> None:
    listing = await api.get("/account/sessions")
    assert (listing.status, listing.code) == (401, 4)
    assert "WWW-Authenticate" in listing.headers
    revoke = await api.post("/account/sessions/revoke", {"all": True}, token="A" * 47)
    assert (revoke.status, revoke.code) == (401, 4)


async def test_a_cross_site_revoke_with_the_cookie_is_refused_and_a_bearer_passes(
    api: Api, start: Start
) -> None:
    await register(api, "alice")
    other = await start("alice", "token")
    cookie = await start("alice", "cookie")
    foreign = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = await cookie.revoke({"all": True}, headers=foreign)
    assert (refused.status, refused.code) == (403, 5)
    assert await other.alive()
    bearer = await start("alice", "token")
    passed = await bearer.revoke({"id": await other.current_id()}, headers=foreign)
    assert (passed.status, passed.body["revoked"]) == (200, 1)


async def test_a_login_beyond_the_bound_ends_the_session_nearest_its_end(
    api: Api, start: Start
) -> None:
    await register(api, "alice")
    first = await start("alice", "token")
    later = [await start("alice", "token") for _ in range(MAX_PER_USER - 1)]
    for client in later:
        assert await client.alive(), "each use restarts the idle timer: `first` ends soonest"
    newest = await start("alice", "token")
    assert not await first.alive()
    assert all([await client.alive() for client in (*later, newest)])
    assert len(await newest.listed()) == MAX_PER_USER


def index_key(user_id: str) -> str:
    return USER_INDEX_PREFIX + hash_tag(user_tag(user_id)) + ":" + user_id


def session_redis_key(token: str) -> str:
    return SESSION_PREFIX + hash_tag(token[-4:]) + ":" + hashlib.sha256(token.encode()).hexdigest()


async def test_ended_sessions_vanish_from_the_index(
    api: Api, start: Start, redis_direct: redis_sync.Redis
) -> None:
    await register(api, "alice")
    short_lived = [await start("alice", "token") for _ in range(2)]
    me = await start("alice", "token")
    user_id = (await me.get("/account/info", token=me.token)).body["user"]["id"]
    assert redis_direct.scard(index_key(user_id)) == 3
    for client in short_lived:
        assert client.token is not None
        redis_direct.pexpire(session_redis_key(client.token), 50)
    await asyncio.sleep(0.1)
    assert redis_direct.scard(index_key(user_id)) == 3, "the index still names them"
    (only,) = await me.listed()
    assert only["current"] is True
    assert redis_direct.scard(index_key(user_id)) == 1, "the listing pruned them"
    later = await start("alice", "token")
    assert later.token is not None
    redis_direct.pexpire(session_redis_key(later.token), 50)
    await asyncio.sleep(0.1)
    await start("alice", "cookie")
    assert redis_direct.scard(index_key(user_id)) == 2, "the login pruned it"


async def test_a_session_stored_before_this_change_lists_with_what_is_known(
    api: Api, start: Start, redis_direct: redis_sync.Redis
) -> None:
    await register(api, "alice")
    old = await start("alice", "token")
    assert old.token is not None
    key = session_redis_key(old.token)
    record = json.loads(redis_direct.get(key) or b"{}")
    for name in ("client", "user_agent", "last_used_at"):
        del record[name]
    redis_direct.set(key, json.dumps(record), keepttl=True)
    me = await start("alice", "token")
    (_, listed) = await me.listed()
    assert (listed["client"], listed["user_agent"]) == (None, None)
    assert listed["last_used_at"] == listed["created_at"]
    assert await old.alive()


async def test_a_login_without_a_user_agent_lists_null(api: Api, start: Start) -> None:
    await register(api, "alice")
    me = Client(api.client, api.base_url)
    login = await me.login("alice", session="token", headers={"User-Agent": ""})
    me.token = login.body["token"]
    (listed,) = await me.listed()
    assert listed["user_agent"] is None


async def test_a_request_records_its_use_at_most_once_a_minute(
    api: Api, start: Start, redis_direct: redis_sync.Redis
) -> None:
    await register(api, "alice")
    me = await start("alice", "token")
    assert me.token is not None
    key = session_redis_key(me.token)
    record = json.loads(redis_direct.get(key) or b"{}")
    record["last_used_at"] -= 61
    redis_direct.set(key, json.dumps(record), keepttl=True)
    before = time.time()
    assert await me.alive()
    used = json.loads(redis_direct.get(key) or b"{}")["last_used_at"]
    assert used >= before
    assert await me.alive()
    assert json.loads(redis_direct.get(key) or b"{}")["last_used_at"] == used, "within the minute"
    (listed,) = await me.listed()
    assert abs(iso_seconds(listed["last_used_at"]) - used) < 0.001
