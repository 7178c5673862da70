"""A full bcrypt queue with a wait: logins beyond it wait for a place, first come first
served, and are refused with 503 only when none frees in time."""

from __future__ import annotations

import asyncio

import bcrypt
import pytest
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services
from factsvc.config import Settings
from tests.support.api import Api, Reply
from tests.support.held_checks import HeldChecks
from tests.support.polling import eventually_async
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test(timeout=60)
MAX_WAIT_SECONDS = 1.5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, bcrypt_max_pending=1, bcrypt_max_wait_seconds=MAX_WAIT_SECONDS)


async def test_logins_beyond_the_queue_wait_for_a_place_then_succeed_or_are_refused(
    http_client: AsyncHTTPClient,
    base_url: str,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (await Api(http_client, base_url).register()).status == 201
    held = HeldChecks(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", held)
    queue = services.pools["bcrypt"]

    def login() -> asyncio.Future[Reply]:
        return asyncio.ensure_future(Api(http_client, base_url).login())

    try:
        first = login()
        await held.wait_started(1)  # the first login holds the only place, its hash unfinished
        second = login()
        await eventually_async(lambda: queue.waiting == 1, 10.0, "the second login waits")
        held.release()  # the first hash ends within the wait: its place goes to the second
        await held.wait_started(2)
        late = [login() for _ in range(3)]
        # The second's hash stays held: no place frees within the late ones' wait.
        refused = await asyncio.wait_for(asyncio.gather(*late), timeout=MAX_WAIT_SECONDS + 10)
        assert not second.done()
        assert queue.rejected == 3, "each late login was refused by the queue"
    finally:
        held.release(10)
    assert (await first).status == 200
    assert (await second).status == 200  # it waited for its place, then logged in
    for reply in refused:
        assert (reply.status, reply.headers["Retry-After"]) == (503, "1")
        assert reply.response.request_time is not None
        assert reply.response.request_time >= MAX_WAIT_SECONDS  # refused after the wait
    assert held.started == 2, "a refused login hashed nothing"
