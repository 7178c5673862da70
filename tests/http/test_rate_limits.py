"""Login failure limits over real sockets and a real Redis: only failures lock a client or an
account out, however many valid logins arrive at once."""

from __future__ import annotations

import asyncio

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

LIMIT = 5
# A burst larger than either limit, as the office behind one address sent it.
BURST = 8


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    # Cost 8 (~15 ms a check): the logins overlap on the bcrypt threads as real ones do.
    limited = with_settings(
        settings,
        bcrypt_rounds=8,
        login_client_max_failures=LIMIT,
        login_account_max_failures=LIMIT,
        # Requests without X-Forwarded-For still come from the peer, 127.0.0.1.
        trusted_proxies=("127.0.0.1",),
    )
    return app_factory(limited)


def clients(http_client: AsyncHTTPClient, base_url: str, count: int) -> list[Api]:
    """`count` clients with cookie jars of their own, all from one address (127.0.0.1)."""
    return [Api(http_client, base_url) for _ in range(count)]


async def test_concurrent_valid_logins_from_one_address_are_never_limited(
    api: Api, http_client: AsyncHTTPClient, base_url: str
) -> None:
    await api.register()
    replies = await asyncio.gather(
        *(client.login() for client in clients(http_client, base_url, BURST))
    )
    assert [reply.status for reply in replies] == [200] * BURST
    assert (await api.login()).status == 200, "and nothing was left counted against anyone"


async def test_wrong_guesses_racing_valid_logins_are_judged_no_more_often_than_the_limit(
    api: Api, http_client: AsyncHTTPClient, base_url: str
) -> None:
    await api.register()
    await api.register("bob")
    valid = clients(http_client, base_url, BURST)
    wrong = clients(http_client, base_url, BURST)
    replies = await asyncio.gather(
        *(client.login() for client in valid),
        *(client.login("bob", password="wrong password!") for client in wrong),
    )
    guesses = sorted(reply.status for reply in replies[BURST:])
    assert guesses == [401] * LIMIT + [429] * (BURST - LIMIT)
    assert {reply.status for reply in replies[:BURST]} <= {200, 429}
    locked = await api.login()
    assert (locked.status, locked.code) == (429, 9), "the failures lock the address out"


async def test_failures_at_one_account_lock_it_for_the_right_password_from_anywhere(
    api: Api, settings: Settings
) -> None:
    await api.register()
    for i in range(LIMIT):
        forwarded = {"X-Forwarded-For": f"203.0.113.{i}"}  # a new client each time
        assert (await api.login(password="wrong password!", headers=forwarded)).status == 401
    limited = await api.login(headers={"X-Forwarded-For": "198.51.100.1"})
    assert (limited.status, limited.code) == (429, 9)
    assert 1 <= int(limited.headers["Retry-After"]) <= settings.login_account_window_seconds
    assert (await api.login("bob", password="wrong password!")).status == 401, (
        "the address itself is not locked"
    )
