"""Session modes over real sockets: how a login, a password change and a logout deliver (or
expire) the credential, the cookie's name and attributes, and repeated cookies of its name."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.httputil import HTTPHeaders

from factsvc.config import Settings
from factsvc.handlers.session_delivery import CROSS_SITE_COOKIE
from tests.support.api import PASSWORD, Api, Reply, session_cookie_name
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

NEW_PASSWORD = "a brand new secret"
# What a browser's fetch() sends besides its Origin (W3C Fetch Metadata).
BROWSER = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "empty"}
# A page on another site than the API's, listed in CORS_ORIGINS where a test needs it.
ANOTHER_SITE = "https://spa.example"
CROSS_SITE = {"Origin": ANOTHER_SITE, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site"}


def only_cookie(reply: Reply) -> SimpleCookie:
    """The answer's one Set-Cookie, parsed."""
    (header,) = reply.set_cookies()
    return SimpleCookie(header)


def attributes(reply: Reply) -> dict[str, str]:
    """The attributes of the answer's one Set-Cookie, by lower-case name, as written."""
    (header,) = reply.set_cookies()
    pairs = (part.strip().partition("=") for part in header.split(";")[1:])
    return {name.lower(): value for name, _, value in pairs}


@pytest.fixture
def name(settings: Settings) -> str:
    return session_cookie_name(settings)


@pytest.fixture
def registered(api: Api, io_loop: Any) -> Api:
    io_loop.run_sync(api.register)
    return api


async def test_a_browser_that_chooses_no_mode_gets_the_cookie_alone(
    registered: Api, name: str
) -> None:
    login = await registered.login(headers=BROWSER)
    assert login.status == 200
    assert "token" not in login.body
    assert set(only_cookie(login)) == {name}
    assert (await registered.get("/account/info")).body["user"]["username"] == "alice"


@pytest.mark.parametrize("header", ["Sec-Fetch-Mode", "Sec-Fetch-Site"])
async def test_either_fetch_metadata_header_marks_a_browser(registered: Api, header: str) -> None:
    login = await registered.login(headers={header: BROWSER[header]})
    assert "token" not in login.body
    assert len(login.set_cookies()) == 1


@pytest.mark.parametrize(
    ("app", "origin"),
    [({}, None), ({"cors_origins": ("http://app.example:8000",)}, "http://app.example:8000")],
    indirect=["app"],
)
async def test_a_browser_that_sends_no_fetch_metadata_is_told_by_its_origin(
    registered: Api, app: tornado.web.Application, base_url: str, origin: str | None
) -> None:
    # Chromium sends no Sec-Fetch-* to an API on plain http other than localhost, but an
    # Origin with every POST: the page's own (same origin) or a listed one.
    login = await registered.login(headers={"Origin": origin or base_url})
    assert login.status == 200
    assert "token" not in login.body
    assert len(login.set_cookies()) == 1


async def test_another_client_that_chooses_no_mode_gets_both(registered: Api, name: str) -> None:
    login = await registered.login()
    assert set(only_cookie(login)) == {name}
    token = login.body["token"]
    registered.cookies.clear()
    assert (await registered.get("/account/info", token=token)).status == 200


@pytest.mark.parametrize("headers", [{}, BROWSER])
async def test_token_mode_sends_no_cookie_at_all(registered: Api, headers: dict[str, str]) -> None:
    login = await registered.login(session="token", headers=headers)
    assert login.status == 200
    assert login.headers.get_list("Set-Cookie") == []
    assert registered.cookies == {}
    info = await registered.get("/account/info", token=login.body["token"])
    assert info.body["user"]["username"] == "alice"


@pytest.mark.parametrize("headers", [{}, BROWSER])
async def test_cookie_mode_sends_no_token(
    registered: Api, name: str, headers: dict[str, str]
) -> None:
    login = await registered.login(session="cookie", headers=headers)
    assert login.status == 200
    assert set(login.body) == {"code", "message", "user"}
    assert set(only_cookie(login)) == {name}
    assert (await registered.get("/isLogined")).body["logined"] is True


@pytest.mark.parametrize("mode", ["Cookie", "both", None, 1, ["token"]])
async def test_any_other_mode_is_refused_before_anything_happens(
    registered: Api, mode: object
) -> None:
    body = {"username": "alice", "password": PASSWORD, "session": mode}
    reply = await registered.post("/login", body)
    assert (reply.status, reply.code) == (400, 3)
    assert reply.body["errors"] == {"session": "must be 'cookie' or 'token'"}
    assert reply.set_cookies() == []


@pytest.mark.parametrize("app", [{"cors_origins": (ANOTHER_SITE,)}], indirect=True)
@pytest.mark.parametrize("mode", ["cookie", None])
async def test_a_page_on_another_site_is_told_to_log_in_in_token_mode(
    registered: Api, app: tornado.web.Application, mode: str | None
) -> None:
    # Refused before the credentials are looked at, like any other body rule.
    for password in (PASSWORD, "not the password"):
        refused = await registered.login(password=password, session=mode, headers=CROSS_SITE)
        assert (refused.status, refused.code) == (400, 3)
        assert refused.body["errors"] == {"session": CROSS_SITE_COOKIE}
        assert refused.set_cookies() == []
        assert refused.headers["Access-Control-Allow-Origin"] == ANOTHER_SITE
    login = await registered.login(session="token", headers=CROSS_SITE)
    assert login.status == 200
    assert login.set_cookies() == []
    assert (await registered.get("/account/info", token=login.body["token"])).status == 200


@pytest.mark.parametrize(
    "app", [{"cors_origins": (ANOTHER_SITE,), "session_cookie_samesite": "None"}], indirect=True
)
@pytest.mark.parametrize("mode", ["cookie", None])
async def test_with_samesite_none_a_page_on_another_site_gets_the_cookie(
    registered: Api, app: tornado.web.Application, mode: str | None, name: str
) -> None:
    login = await registered.login(session=mode, headers=CROSS_SITE)
    assert login.status == 200
    assert "token" not in login.body
    assert set(only_cookie(login)) == {name}


async def test_a_mode_given_twice_is_named_as_the_duplicate(registered: Api) -> None:
    raw = b'{"username": "alice", "password": "%s", "session": "cookie", "session": "token"}'
    reply = await registered.post("/login", raw=raw % PASSWORD.encode())
    assert (reply.status, reply.code) == (400, 3)
    assert reply.body["errors"] == {"body": 'duplicate key: "session"'}
    assert reply.set_cookies() == []


async def test_a_password_change_by_bearer_answers_with_the_token_and_no_cookie(
    registered: Api,
) -> None:
    token = (await registered.login(session="token")).body["token"]
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    changed = await registered.post("/account/edit", change, token=token)
    assert changed.status == 200
    assert changed.headers.get_list("Set-Cookie") == []
    new_token = changed.body["token"]
    assert new_token != token
    assert (await registered.get("/account/info", token=new_token)).status == 200
    assert (await registered.get("/account/info", token=token)).status == 401


async def test_a_password_change_by_cookie_answers_with_a_new_cookie_and_no_token(
    registered: Api, name: str
) -> None:
    await registered.login(session="cookie")
    old_cookie = dict(registered.cookies)
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    changed = await registered.post("/account/edit", change, headers=BROWSER)
    assert changed.status == 200
    assert "token" not in changed.body
    assert set(only_cookie(changed)) == {name}
    assert registered.cookies[name] != old_cookie[name]
    assert (await registered.get("/account/info")).status == 200
    registered.cookies = old_cookie
    assert (await registered.get("/account/info")).status == 401


async def test_a_keyed_password_change_by_cookie_is_never_replayed(registered: Api) -> None:
    await registered.login(session="cookie")
    old_cookie = dict(registered.cookies)
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    key = {"Idempotency-Key": "cookie-change-0123456789"}
    assert (await registered.post("/account/edit", change, headers=key)).status == 200
    registered.cookies = old_cookie
    retry = await registered.post("/account/edit", change, headers=key)
    assert (retry.status, retry.code) == (401, 4)
    assert retry.set_cookies() == []


async def test_a_bearer_only_logout_sends_no_cookie(registered: Api) -> None:
    token = (await registered.login(session="token")).body["token"]
    logout = await registered.post("/logout", token=token)
    assert (logout.status, logout.code) == (200, 0)
    assert logout.headers.get_list("Set-Cookie") == []
    assert (await registered.get("/account/info", token=token)).status == 401


@pytest.mark.parametrize("bearer_too", [False, True])
async def test_a_logout_that_carried_the_cookie_expires_it_with_its_attributes(
    registered: Api, name: str, bearer_too: bool
) -> None:
    login = await registered.login()
    logout = await registered.post("/logout", token=login.body["token"] if bearer_too else None)
    assert logout.status == 200
    expired = only_cookie(logout)[name]
    assert expired.value == ""
    assert expired["expires"]
    # A browser takes a __Host- cookie, even an expired one, only with these attributes.
    assert attributes(logout).keys() >= {"secure", "path", "httponly", "samesite"}
    assert attributes(logout)["path"] == "/"
    assert "domain" not in attributes(logout)
    assert registered.cookies == {}


async def test_outside_debug_the_cookie_is_host_prefixed_secure_and_host_only(
    registered: Api, settings: Settings
) -> None:
    assert settings.debug is False
    login = await registered.login(session="cookie")
    (name,) = only_cookie(login)
    assert name == "__Host-SID"
    written = attributes(login)
    assert written.keys() == {"httponly", "max-age", "path", "samesite", "secure"}
    assert written["path"] == "/"
    assert int(written["max-age"]) == settings.session_absolute_seconds


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings, request: pytest.FixtureRequest) -> Any:
    """The app under `settings` with the test's `changes` (indirect parametrisation)."""
    changes: dict[str, object] = getattr(request, "param", {})
    return app_factory(with_settings(settings, **changes))


@pytest.mark.parametrize(
    ("app", "written"),
    [
        ({}, "Lax"),
        ({"session_cookie_samesite": "strict"}, "Strict"),
        ({"session_cookie_samesite": "None"}, "None"),
    ],
    indirect=["app"],
)
async def test_samesite_is_written_as_configured(
    registered: Api, app: tornado.web.Application, written: str
) -> None:
    login = await registered.login(session="cookie")
    assert f"SameSite={written}" in login.set_cookies()[0].split("; ")
    assert attributes(login)["samesite"] == written
    assert (await registered.get("/account/info")).status == 200


@pytest.mark.parametrize(
    ("app", "name", "secure"),
    [
        ({"debug": True}, "SID", False),
        ({"debug": True, "session_cookie_samesite": "None"}, "SID", True),
        ({"debug": True, "session_cookie_name": "__Host-dev"}, "__Host-dev", True),
        ({"session_cookie_name": "app_session"}, "__Host-app_session", True),
    ],
    indirect=["app"],
)
async def test_debug_keeps_the_configured_name_and_is_secure_only_where_browsers_insist(
    registered: Api, app: tornado.web.Application, name: str, secure: bool
) -> None:
    login = await registered.login(session="cookie")
    assert set(only_cookie(login)) == {name}
    assert ("secure" in attributes(login)) is secure
    assert (await registered.get("/account/info")).status == 200


async def sent_with(http_client: AsyncHTTPClient, url: str, *lines: str) -> Reply:
    """GET `url` with these Cookie header lines, each its own line."""
    headers = HTTPHeaders()
    for line in lines:
        headers.add("Cookie", line)
    return Reply(await http_client.fetch(url, headers=headers, raise_error=False))


async def info_with(http_client: AsyncHTTPClient, base_url: str, *lines: str) -> int:
    """The status of GET /account/info sent with these Cookie header lines."""
    return (await sent_with(http_client, base_url + "/account/info", *lines)).status


@pytest.mark.parametrize(
    "junk", ["junk", '"2|1:0|10:1700000000|3:SID|8:dG9rZW4=|00"', "", "a=b", '"'], ids=repr
)
async def test_a_tossed_cookie_of_the_same_name_never_logs_the_user_out(
    registered: Api, http_client: AsyncHTTPClient, base_url: str, name: str, junk: str
) -> None:
    await registered.login(session="cookie")
    valid = f"{name}={registered.cookies[name]}"
    tossed = f"{name}={junk}"
    assert await info_with(http_client, base_url, f"{valid}; {tossed}") == 200
    assert await info_with(http_client, base_url, f"{tossed}; {valid}") == 200
    assert await info_with(http_client, base_url, f"a=1; {tossed}; x=2; {valid}; y=3") == 200
    assert await info_with(http_client, base_url, tossed, valid) == 200
    assert await info_with(http_client, base_url, tossed) == 401


async def test_two_different_sessions_in_one_request_are_no_session(
    http_client: AsyncHTTPClient, base_url: str, name: str
) -> None:
    alice, mallory = Api(http_client, base_url), Api(http_client, base_url)
    await alice.register("alice")
    await mallory.register("mallory")
    await alice.login("alice", session="cookie")
    await mallory.login("mallory", session="cookie")
    first = f"{name}={alice.cookies[name]}"
    second = f"{name}={mallory.cookies[name]}"
    for lines in ([f"{first}; {second}"], [f"{second}; {first}"], [first, second]):
        assert await info_with(http_client, base_url, *lines) == 401
    assert await info_with(http_client, base_url, f"{first}; {first}") == 200
    both = await sent_with(http_client, base_url + "/isLogined", f"{second}; {first}")
    assert (both.body["logined"], both.body["user"]) == (False, None)


# The blanks str.strip() removes and browsers keep in a cookie's name that a header line can
# carry: a field value holds obs-text (RFC 9110 §5.5; Tornado decodes it as Latin-1) but no
# control character (tests/unit/test_session_cookie.py covers every other blank).
HEADER_BLANKS = [c for c in map(chr, range(0x80, 0x100)) if c.isspace()]


@pytest.mark.parametrize("blank", HEADER_BLANKS, ids=lambda blank: f"U+{ord(blank):04X}")
async def test_a_cookie_whose_name_only_looks_like_the_sessions_is_never_read(
    http_client: AsyncHTTPClient, base_url: str, name: str, blank: str
) -> None:
    alice, mallory = Api(http_client, base_url), Api(http_client, base_url)
    await alice.register("alice")
    await mallory.register("mallory")
    await alice.login("alice", session="cookie")
    await mallory.login("mallory", session="cookie")
    # A sibling subdomain may set "\xa0__Host-SID" without Secure and for the parent domain:
    # to the browser it is no __Host- cookie, and it is sent beside the real one.
    tossed = f"{blank}{name}={mallory.cookies[name]}"
    assert HEADER_BLANKS == ["\x85", "\xa0"]
    alone = await sent_with(http_client, base_url + "/isLogined", tossed)
    assert (alone.status, alone.body["logined"]) == (200, False)
    beside = await sent_with(
        http_client, base_url + "/account/info", f"{name}={alice.cookies[name]}; {tossed}"
    )
    assert (beside.status, beside.body["user"]["username"]) == (200, "alice")
