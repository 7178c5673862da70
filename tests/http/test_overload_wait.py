"""A full bcrypt queue with a wait: logins beyond it wait for a place, first come first
served, and are refused with 503 only when none frees in time."""

from __future__ import annotations

import asyncio

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)
MAX_WAIT_SECONDS = 1.5


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(
        with_settings(
            settings,
            bcrypt_rounds=12,
            bcrypt_max_pending=1,
            bcrypt_max_wait_seconds=MAX_WAIT_SECONDS,
        )
    )


async def test_logins_beyond_the_queue_wait_for_a_place_then_succeed_or_are_refused(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    assert (await Api(http_client, base_url).register()).status == 201
    # One place and 8 logins of at least ~0.2 s each at cost 12: more than the wait covers.
    replies = await asyncio.gather(*(Api(http_client, base_url).login() for _ in range(8)))
    statuses = [reply.status for reply in replies]
    assert set(statuses) == {200, 503}
    assert statuses.count(200) >= 2  # the first, and at least one that waited for its place
    for reply in replies:
        if reply.status == 503:
            assert reply.headers["Retry-After"] == "1"
            assert reply.response.request_time is not None
            assert reply.response.request_time >= MAX_WAIT_SECONDS  # refused after the wait
