"""A full bcrypt queue: logins wait for a place, then get 503 code 10 with Retry-After."""

from __future__ import annotations

import asyncio

import bcrypt
import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.held_checks import HeldChecks
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, bcrypt_max_pending=1, bcrypt_max_wait_seconds=0))


async def test_without_a_wait_logins_beyond_the_queue_get_503_with_retry_after_at_once(
    http_client: AsyncHTTPClient, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Api(http_client, base_url)
    assert (await api.register()).status == 201
    held = HeldChecks(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", held)
    try:
        first = asyncio.ensure_future(Api(http_client, base_url).login())
        await held.wait_started(1)  # the first login holds the only place, its hash unfinished
        others = asyncio.gather(*(Api(http_client, base_url).login() for _ in range(5)))
        # Answered while that hash is held: a refusal that waited for a hash would never come.
        replies = await asyncio.wait_for(others, timeout=10)
        assert not first.done()
        assert held.started == 1, "a refused login hashed nothing"
    finally:
        held.release(10)
    assert (await first).status == 200
    for reply in replies:
        assert (reply.status, reply.code, reply.headers["Retry-After"]) == (503, 10, "1")
        assert reply.response.request_time is not None
        # At once: a refusal that waited for a place (BCRYPT_MAX_WAIT_SECONDS, 5 s by default)
        # would take 5 s; the rest is room for new connections on a loaded machine.
        assert reply.response.request_time < 3.0
