"""Every session a request presents (a bearer, each cookie of the session cookie's name that
verifies): which one it runs in, which ones a login and a logout end, and when the cookie is
expired; a Basic Authorization presents none."""

from __future__ import annotations

import base64
from http.cookies import SimpleCookie

import pytest
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import PASSWORD, Api, Reply, session_cookie_name

pytestmark = pytest.mark.gen_test(timeout=60)

NEW_PASSWORD = "a brand new secret"
# What a browser behind HTTP Basic authentication (a staging site's proxy) adds by itself.
BASIC = {"Authorization": "Basic " + base64.b64encode(b"staff:staging").decode()}


@pytest.fixture
def name(settings: Settings) -> str:
    return session_cookie_name(settings)


class Client(Api):
    """An Api that logs in as one user in one mode: its cookie or its token is its session."""

    token: str | None = None

    async def start(self, username: str, session: str) -> Client:
        login = await self.login(username, session=session)
        assert login.status == 200
        self.token = login.body.get("token")
        return self

    async def alive(self) -> bool:
        """Whether its session still answers: /account/info with its cookie or its token."""
        reply = await self.get("/account/info", token=self.token)
        assert reply.status in (200, 401)
        return reply.status == 200


@pytest.fixture
def clients(http_client: AsyncHTTPClient, base_url: str, io_loop: object) -> list[Client]:
    """alice in cookie mode twice, alice in token mode, mallory in cookie mode."""

    async def start() -> list[Client]:
        await Api(http_client, base_url).register("alice")
        await Api(http_client, base_url).register("mallory")
        return [
            await Client(http_client, base_url).start(username, session)
            for username, session in (
                ("alice", "cookie"),
                ("alice", "cookie"),
                ("alice", "token"),
                ("mallory", "cookie"),
            )
        ]

    return io_loop.run_sync(start)  # type: ignore[attr-defined,no-any-return]


def with_cookies(api: Api, name: str, *holders: Api) -> dict[str, str]:
    """A Cookie header with the session cookie of each of `holders`, in order."""
    return {"Cookie": "; ".join(f"{name}={holder.cookies[name]}" for holder in holders)}


def expires(reply: Reply, name: str) -> bool:
    """Whether the answer expires the session cookie (one Set-Cookie, empty, dated)."""
    (header,) = reply.set_cookies()
    morsel = SimpleCookie(header)[name]
    return morsel.value == "" and bool(morsel["expires"])


async def test_a_logout_ends_the_bearers_session_and_the_cookies(
    clients: list[Client], name: str
) -> None:
    cookie, other_cookie, token, mallory = clients
    kept = dict(cookie.cookies)
    logout = await cookie.post("/logout", token=token.token)
    assert logout.status == 200
    assert expires(logout, name)
    assert not await token.alive()
    cookie.cookies = kept
    assert not await cookie.alive()
    assert await other_cookie.alive()
    assert await mallory.alive()


async def test_a_logout_with_two_sessions_in_cookies_ends_both(
    clients: list[Client], name: str
) -> None:
    cookie, other_cookie, token, mallory = clients
    both = with_cookies(cookie, name, cookie, mallory)
    logout = await Api(cookie.client, cookie.base_url).post("/logout", headers=both)
    assert logout.status == 200
    assert expires(logout, name)
    assert not await cookie.alive()
    assert not await mallory.alive()
    assert await other_cookie.alive()
    assert await token.alive()


@pytest.mark.parametrize("value", ["junk", "", '"2|1:0|10:1700000000|3:SID|8:dG9r|00"'])
async def test_a_logout_that_ends_nothing_still_expires_the_cookie(
    api: Api, name: str, value: str
) -> None:
    logout = await api.post("/logout", headers={"Cookie": f"a=1; {name}={value}"})
    assert (logout.status, logout.code) == (401, 4)
    assert expires(logout, name)
    assert "WWW-Authenticate" in logout.headers


async def test_a_logout_of_a_dead_session_expires_its_cookie(
    clients: list[Client], name: str
) -> None:
    cookie = clients[0]
    kept = dict(cookie.cookies)
    assert (await cookie.post("/logout")).status == 200
    cookie.cookies = kept
    again = await cookie.post("/logout")
    assert (again.status, again.code) == (401, 4)
    assert expires(again, name)
    assert cookie.cookies == {}


@pytest.mark.parametrize("session", ["cookie", "token", None])
async def test_a_login_ends_every_session_it_presents(
    clients: list[Client], name: str, session: str | None
) -> None:
    cookie, other_cookie, token, mallory = clients
    fresh = Api(cookie.client, cookie.base_url)
    presented = with_cookies(fresh, name, cookie, other_cookie)
    presented["Authorization"] = f"Bearer {token.token}"
    login = await fresh.login(session=session, headers=presented)
    assert login.status == 200
    for client in (cookie, other_cookie, token):
        assert not await client.alive()
    assert await mallory.alive()


async def test_a_password_change_by_bearer_expires_a_cookie_carried_beside_it(
    clients: list[Client], name: str
) -> None:
    cookie, _, token, _ = clients
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    changed = await cookie.post("/account/edit", change, token=token.token)
    assert changed.status == 200
    assert expires(changed, name)
    assert cookie.cookies == {}
    assert (await cookie.get("/account/info", token=changed.body["token"])).status == 200


async def test_basic_authorization_leaves_the_cookie_in_charge(
    clients: list[Client], name: str
) -> None:
    cookie, other_cookie, _, _ = clients
    info = await cookie.get("/account/info", headers=BASIC)
    assert (info.status, info.body["user"]["username"]) == (200, "alice")
    assert (await cookie.get("/isLogined", headers=BASIC)).body["logined"] is True
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    changed = await cookie.post("/account/edit", change, headers=BASIC)
    assert changed.status == 200
    assert "token" not in changed.body
    assert not expires(changed, name), "the new session's cookie"
    assert await cookie.alive()
    assert not await other_cookie.alive()
    assert (await cookie.post("/logout", headers=BASIC)).status == 200
    assert cookie.cookies == {}


async def test_basic_authorization_does_not_pass_for_a_bearer_across_origins(
    clients: list[Client],
) -> None:
    cookie = clients[0]
    foreign = {**BASIC, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    for cookies in (dict(cookie.cookies), {}):
        cookie.cookies = cookies
        refused = await cookie.post("/account/edit", {"nickname": "x"}, headers=foreign)
        assert (refused.status, refused.code) == (403, 5)
