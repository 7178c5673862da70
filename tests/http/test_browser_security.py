"""Browsers: CORS for listed origins only, and no cookie-authenticated state change from others."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop

from factsvc.config import Settings
from tests.support.api import PASSWORD, Api, Reply
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test

TRUSTED = "https://app.example"
FOREIGN = "https://evil.example"


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, request: pytest.FixtureRequest
) -> tornado.web.Application:
    """The application with TRUSTED listed, and any changes a test passes as its parameter."""
    changes = getattr(request, "param", {})
    return app_factory(with_settings(settings, cors_origins=(TRUSTED,), **changes))


@pytest.fixture
def logged_in(http_client: AsyncHTTPClient, base_url: str, io_loop: IOLoop) -> Api:
    api = Api(http_client, base_url)

    async def log_in() -> None:
        await api.register()
        await api.login()

    io_loop.run_sync(log_in)
    return api


def preflight(
    api: Api, path: str, method: str, *, origin: str = TRUSTED, headers: str | None = None
) -> Awaitable[Reply]:
    """What a browser on `origin` sends before a `method` request to `path` with `headers`."""
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return api.request("OPTIONS", path, headers=sent)


def assert_readable_by(reply: Reply, origin: str) -> None:
    assert reply.headers["Access-Control-Allow-Origin"] == origin
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Access-Control-Expose-Headers"] == (
        "X-Request-ID, Retry-After, WWW-Authenticate, Allow"
    )


@pytest.mark.parametrize("path", ["/fact?n=3", "/isLogined", "/healthz", "/nowhere"])
async def test_a_listed_origin_may_read_with_credentials(api: Api, path: str) -> None:
    reply = await api.get(path, headers={"Origin": TRUSTED})
    assert_readable_by(reply, TRUSTED)
    assert "Origin" in reply.headers["Vary"]


@pytest.mark.parametrize(
    "origin", [FOREIGN, "null", TRUSTED + ".evil.example", "http://app.example"]
)
async def test_other_origins_get_no_cors_headers(api: Api, origin: str) -> None:
    reply = await api.get("/fact?n=3", headers={"Origin": origin})
    assert reply.status == 200
    assert not [name for name in reply.headers if name.startswith("Access-Control-")]
    assert "Origin" in reply.headers["Vary"]


async def test_a_request_without_origin_gets_no_cors_headers(api: Api) -> None:
    for path in ("/fact?n=3", "/nowhere"):
        reply = await api.get(path)
        assert not [name for name in reply.headers if name.startswith("Access-Control-")]


async def test_a_preflight_allows_the_routes_methods_and_the_configured_headers(
    api: Api,
) -> None:
    reply = await preflight(api, "/account/edit", "POST", headers="content-type")
    assert reply.status == 204
    assert_readable_by(reply, TRUSTED)
    assert reply.headers["Access-Control-Allow-Methods"] == "POST"
    assert reply.headers["Access-Control-Allow-Headers"] == (
        "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent, tracestate"
    )
    assert reply.headers["Access-Control-Max-Age"] == "7200"


@pytest.mark.parametrize(
    "headers",
    [
        "traceparent",
        "content-type,idempotency-key,traceparent,tracestate,x-request-id",
        "Authorization, Content-Type",
        "authorization,,  ",
    ],
)
async def test_a_preflight_for_the_allowed_headers_passes_in_any_case_and_spacing(
    api: Api, headers: str
) -> None:
    reply = await preflight(api, "/account/info", "GET", headers=headers)
    assert reply.status == 204


@pytest.mark.parametrize(
    ("path", "method", "methods", "status", "allow"),
    [
        ("/account/edit", "DELETE", "POST, DELETE", 405, "POST, OPTIONS"),
        ("/fact?n=3", "POST", "GET, HEAD, POST", 405, "GET, HEAD, OPTIONS"),
        ("/nowhere", "GET", "GET", 404, None),
        ("/no/such/path", "POST", "POST", 404, None),
    ],
)
async def test_a_preflight_for_an_unknown_path_or_method_passes_and_the_page_reads_the_error(
    api: Api, path: str, method: str, methods: str, status: int, allow: str | None
) -> None:
    passed = await preflight(api, path, method, headers="content-type")
    assert passed.status == 204
    assert passed.headers["Access-Control-Allow-Methods"] == methods
    assert_readable_by(passed, TRUSTED)
    real = await api.request(
        method, path, {} if method == "POST" else None, headers={"Origin": TRUSTED}
    )
    assert (real.status, real.code) == (status, 7 if status == 404 else 5)
    assert real.body["request_id"] == real.headers["X-Request-ID"]
    assert_readable_by(real, TRUSTED)
    assert real.headers.get("Allow") == allow


@pytest.mark.parametrize(
    ("origin", "method", "path", "headers", "status"),
    [
        (FOREIGN, "POST", "/account/edit", None, 403),
        (TRUSTED, "POST", "/account/edit", "content-type, x-foo", 403),
        (TRUSTED, "GET", "/fact", "cookie", 403),
        (TRUSTED, "GET", "/nowhere", "x-foo", 403),
        (TRUSTED, "PO ST", "/account/edit", None, 403),
        (TRUSTED, "P" * 5000, "/account/edit", None, 403),
        (TRUSTED, "P" * 33, "/nowhere", None, 403),
        # An unlisted origin's preflight is refused on an unknown path as on any other.
        (FOREIGN, "GET", "/nowhere", None, 403),
        (FOREIGN, "POST", "/no/such/path", "content-type", 403),
        ("null", "GET", "/nowhere", None, 403),
    ],
)
async def test_a_preflight_for_anything_else_is_refused(
    api: Api, origin: str, method: str, path: str, headers: str | None, status: int
) -> None:
    reply = await preflight(api, path, method, origin=origin, headers=headers)
    assert (reply.status, reply.code) == (status, 5 if status == 403 else 7)
    assert "Access-Control-Allow-Methods" not in reply.headers
    assert ("Access-Control-Allow-Origin" in reply.headers) is (origin == TRUSTED)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": TRUSTED},
        {"Access-Control-Request-Method": "POST"},
        {},
    ],
)
async def test_an_options_that_is_no_preflight_is_refused(
    api: Api, headers: dict[str, str]
) -> None:
    reply = await api.request("OPTIONS", "/account/edit", headers=headers)
    assert (reply.status, reply.code) == (403, 5)
    unknown = await api.request("OPTIONS", "/nowhere", headers=headers)
    assert (unknown.status, unknown.code) == (404, 7)


@pytest.mark.parametrize(
    "app",
    [{"cors_allowed_headers": ("X-Custom", "content-type"), "cors_max_age_seconds": 60}],
    indirect=True,
)
async def test_the_configured_headers_and_max_age_are_what_a_preflight_allows(
    app: tornado.web.Application, api: Api
) -> None:
    reply = await preflight(api, "/register", "POST", headers="content-type,x-custom")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Headers"] == "X-Custom, content-type"
    assert reply.headers["Access-Control-Max-Age"] == "60"
    refused = await preflight(api, "/register", "POST", headers="traceparent")
    assert (refused.status, refused.code) == (403, 5)


def refusal_record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The one cross_origin_refused event logged."""
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "cross_origin_refused"]
    return record


@pytest.mark.parametrize("path", ["/login", "/nowhere"])
@pytest.mark.parametrize(
    ("origin", "method", "headers", "setting", "reason"),
    [
        (FOREIGN, "POST", None, "CORS_ORIGINS", "origin_not_listed"),
        (TRUSTED, "POST", "content-type,x-foo", "CORS_ALLOWED_HEADERS", "header_not_allowed:x-foo"),
        (TRUSTED, "PO ST", None, "-", "no_request_method"),
        (TRUSTED, "P" * 5000, None, "-", "method_too_long"),
    ],
)
async def test_a_refused_preflight_is_logged_naming_why_and_the_setting_that_decides_it(
    api: Api,
    caplog: pytest.LogCaptureFixture,
    path: str,
    origin: str,
    method: str,
    headers: str | None,
    setting: str,
    reason: str,
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    reply = await preflight(api, path, method, origin=origin, headers=headers)
    assert (reply.status, reply.code) == (403, 5)
    record = refusal_record(caplog)
    assert (record.origin, record.path, record.setting, record.reason) == (  # type: ignore[attr-defined]
        origin,
        path,
        setting,
        reason,
    )
    assert f"setting={setting} reason={reason} " in record.getMessage()


async def test_a_refusal_logs_a_few_hundred_characters_of_what_the_client_chose(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    await preflight(api, "/login", "POST", headers="content-type, x-" + "a" * 8000)
    assert "reason=header_not_allowed:x-" + "a" * 62 + "… " in refusal_record(caplog).getMessage()
    caplog.clear()
    await api.post("/logout", headers={"Origin": "https://" + "e" * 8000 + ".example"})
    await api.post("/" + "p" * 8000, headers={"Origin": FOREIGN})
    records = [r for r in caplog.records if getattr(r, "event", "") == "cross_origin_refused"]
    assert len(records) == 2
    assert [len(record.getMessage()) < 1000 for record in records] == [True, True]


@pytest.mark.parametrize(
    ("headers", "logged"),
    [
        ({"Origin": FOREIGN}, f"origin={FOREIGN} path=/logout setting=CORS_ORIGINS "),
        (
            {"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"},
            f"origin={FOREIGN} path=/logout setting=CORS_ORIGINS reason=origin_not_listed ",
        ),
        (
            {"Sec-Fetch-Site": "cross-site"},
            "origin=- path=/logout setting=- reason=sec_fetch_site_without_origin ",
        ),
        (
            {"Sec-Fetch-Site": "same-site"},
            "origin=- path=/logout setting=- reason=sec_fetch_site_without_origin ",
        ),
    ],
)
async def test_a_refused_cross_origin_post_is_logged_naming_why_and_the_setting_if_any(
    api: Api, caplog: pytest.LogCaptureFixture, headers: dict[str, str], logged: str
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    reply = await api.post("/logout", headers=headers)
    assert (reply.status, reply.code) == (403, 5)
    assert logged in refusal_record(caplog).getMessage()


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
    invented = "A" * 43 + "0000"
    bad = await logged_in.post("/account/edit", {"nickname": "x"}, token=invented, headers=foreign)
    assert (bad.status, bad.code) == (401, 4)
    logged_in.cookies = cookies
    with_cookie = await logged_in.post(
        "/account/edit", {"nickname": "x"}, token=token, headers=foreign
    )
    assert (with_cookie.status, with_cookie.code) == (403, 5)


async def test_a_cross_site_login_is_refused(api: Api) -> None:
    await api.register()
    reply = await api.post(
        "/login",
        {"username": "alice", "password": PASSWORD},
        headers={"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"},
    )
    assert (reply.status, reply.code) == (403, 5)
    assert api.cookies == {}
