"""What a page on a listed origin reads of error answers: every status carries the CORS headers
and exposes X-Request-ID, Retry-After, WWW-Authenticate and Allow; 429 and 503 bodies repeat
Retry-After as `retry_after`."""

from __future__ import annotations

import pytest

from factsvc.app import Services
from factsvc.config import Settings
from tests.support.api import PASSWORD, Api, Reply
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test

TRUSTED = "https://app.example"
BROWSER = {"Origin": TRUSTED}
CLIENT_LIMIT = 2


@pytest.fixture
def cors_settings(settings: Settings) -> Settings:
    return with_settings(settings, cors_origins=(TRUSTED,), login_client_max_failures=CLIENT_LIMIT)


@pytest.fixture
def app_settings(cors_settings: Settings) -> Settings:
    return cors_settings


def assert_readable(reply: Reply) -> None:
    assert reply.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = reply.headers["Access-Control-Expose-Headers"].split(", ")
    assert exposed == ["X-Request-ID", "Retry-After", "WWW-Authenticate", "Allow"]
    # What a page reads to report the error: the body's id is the header's.
    assert reply.body["request_id"] == reply.headers["X-Request-ID"]


async def test_a_400_401_404_405_and_413_are_readable_with_their_headers(
    api: Api, settings: Settings
) -> None:
    bad = await api.get("/fact?n=-1", headers=BROWSER)
    unauthenticated = await api.get("/account/info", headers=BROWSER)
    missing = await api.get("/nowhere", headers=BROWSER)
    not_allowed = await api.post("/fact", {}, headers=BROWSER)
    too_large = await api.post(
        "/register", raw=b" " * (settings.http_max_body_bytes + 1), headers=BROWSER
    )
    assert [r.status for r in (bad, unauthenticated, missing, not_allowed, too_large)] == [
        400,
        401,
        404,
        405,
        413,
    ]
    for reply in (bad, unauthenticated, missing, not_allowed, too_large):
        assert_readable(reply)
        assert "retry_after" not in reply.body
    assert unauthenticated.headers["WWW-Authenticate"] == 'Bearer realm="factsvc"'
    assert not_allowed.headers["Allow"] == "GET, HEAD, OPTIONS"


async def test_a_429_body_repeats_retry_after(api: Api, settings: Settings) -> None:
    await api.register()
    for _ in range(CLIENT_LIMIT):
        assert (await api.login(password="wrong password!")).status == 401
    limited = await api.post("/login", {"username": "alice", "password": PASSWORD}, headers=BROWSER)
    assert (limited.status, limited.code) == (429, 9)
    assert_readable(limited)
    retry_after = limited.body["retry_after"]
    assert isinstance(retry_after, int)
    assert limited.headers["Retry-After"] == str(retry_after)
    assert 1 <= retry_after <= settings.login_client_window_seconds


async def test_a_503_body_repeats_retry_after(api: Api, services: Services) -> None:
    services.readiness.mark_stopping()
    unready = await api.get("/readyz", headers=BROWSER)
    assert (unready.status, unready.code) == (503, 10)
    assert_readable(unready)
    assert unready.body["dependencies"]["process"] == "stopping"
    assert unready.body["retry_after"] == 1
    assert unready.headers["Retry-After"] == "1"
