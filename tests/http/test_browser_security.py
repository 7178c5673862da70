"""Browsers: CORS for listed origins only, and no cookie-authenticated state change from others."""

from __future__ import annotations

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop

from factsvc.config import Settings
from tests.support.api import PASSWORD, Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test

TRUSTED = "https://app.example"
FOREIGN = "https://evil.example"


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, cors_origins=(TRUSTED,)))


@pytest.fixture
def logged_in(http_client: AsyncHTTPClient, base_url: str, io_loop: IOLoop) -> Api:
    api = Api(http_client, base_url)

    async def log_in() -> None:
        await api.register()
        await api.login()

    io_loop.run_sync(log_in)
    return api


@pytest.mark.parametrize("path", ["/fact?n=3", "/isLogined", "/healthz", "/nowhere"])
async def test_a_listed_origin_may_read_with_credentials(api_factory: Api, path: str) -> None:
    reply = await api_factory.get(path, headers={"Origin": TRUSTED})
    assert reply.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in reply.headers["Vary"]


@pytest.mark.parametrize(
    "origin", [FOREIGN, "null", TRUSTED + ".evil.example", "http://app.example"]
)
async def test_other_origins_get_no_cors_headers(api_factory: Api, origin: str) -> None:
    reply = await api_factory.get("/fact?n=3", headers={"Origin": origin})
    assert reply.status == 200
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert "Origin" in reply.headers["Vary"]


@pytest.fixture
def api_factory(http_client: AsyncHTTPClient, base_url: str) -> Api:
    return Api(http_client, base_url)


async def test_a_preflight_allows_only_the_routes_methods_and_the_apis_headers(
    api_factory: Api,
) -> None:
    reply = await api_factory.request(
        "OPTIONS",
        "/account/edit",
        headers={"Origin": TRUSTED, "Access-Control-Request-Method": "POST"},
    )
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert reply.headers["Access-Control-Allow-Methods"] == "POST"
    assert (
        reply.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, X-Request-ID"
    )


@pytest.mark.parametrize(
    ("origin", "method", "path"),
    [
        (FOREIGN, "POST", "/account/edit"),
        (TRUSTED, "DELETE", "/account/edit"),
        (TRUSTED, "POST", "/fact"),
    ],
)
async def test_a_preflight_for_anything_else_is_refused(
    api_factory: Api, origin: str, method: str, path: str
) -> None:
    reply = await api_factory.request(
        "OPTIONS", path, headers={"Origin": origin, "Access-Control-Request-Method": method}
    )
    assert (reply.status, reply.code) == (403, 5)
    assert "Access-Control-Allow-Methods" not in reply.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": FOREIGN},
        {"Sec-Fetch-Site": "same-site", "Origin": FOREIGN},
        {"Origin": FOREIGN},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_a_cookie_authenticated_change_from_a_foreign_origin_is_refused(
    logged_in: Api, headers: dict[str, str]
) -> None:
    reply = await logged_in.post("/account/edit", {"nickname": "pwned"}, headers=headers)
    assert (reply.status, reply.code) == (403, 5)
    assert (await logged_in.get("/account/info")).body["user"]["nickname"] == "alice"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": TRUSTED, "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_same_origin_trusted_and_non_browser_clients_pass(
    logged_in: Api, headers: dict[str, str]
) -> None:
    reply = await logged_in.post("/account/edit", {"nickname": "Al"}, headers=headers)
    assert reply.status == 200


async def test_an_origin_matching_the_host_passes(logged_in: Api, base_url: str) -> None:
    origin = base_url.replace("localhost", "localhost")
    reply = await logged_in.post("/account/edit", {"nickname": "Al"}, headers={"Origin": origin})
    assert reply.status == 200


async def test_a_bearer_request_without_cookies_is_judged_by_its_token(logged_in: Api) -> None:
    token = (await logged_in.login()).body["token"]
    cookies, logged_in.cookies = logged_in.cookies, {}
    foreign = {"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"}
    assert (
        await logged_in.post("/account/edit", {"nickname": "Al"}, token=token, headers=foreign)
    ).status == 200
    bad = await logged_in.post("/account/edit", {"nickname": "x"}, token="A" * 43, headers=foreign)
    assert (bad.status, bad.code) == (401, 4)
    logged_in.cookies = cookies
    with_cookie = await logged_in.post(
        "/account/edit", {"nickname": "x"}, token=token, headers=foreign
    )
    assert (with_cookie.status, with_cookie.code) == (403, 5)


async def test_a_cross_site_login_is_refused(api_factory: Api) -> None:
    await api_factory.register()
    reply = await api_factory.post(
        "/login",
        {"username": "alice", "password": PASSWORD},
        headers={"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"},
    )
    assert (reply.status, reply.code) == (403, 5)
    assert api_factory.cookies == {}
