"""A full bcrypt queue: logins wait for a place, then get 503 code 10 with Retry-After."""

from __future__ import annotations

import asyncio

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(
        with_settings(settings, bcrypt_rounds=12, bcrypt_max_pending=1, bcrypt_max_wait_seconds=0)
    )


async def test_without_a_wait_logins_beyond_the_queue_get_503_with_retry_after_at_once(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    assert (await api.register()).status == 201
    replies = await asyncio.gather(*(Api(http_client, base_url).login() for _ in range(6)))
    statuses = sorted(reply.status for reply in replies)
    assert statuses[0] == 200
    assert statuses[-1] == 503
    assert set(statuses) == {200, 503}
    for reply in replies:
        if reply.status == 503:
            assert (reply.code, reply.headers["Retry-After"]) == (10, "1")
            assert reply.response.request_time is not None
            # One hash at cost 12 takes ~270 ms: a refusal must not wait for one.
            assert reply.response.request_time < 0.2
