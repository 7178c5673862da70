"""An avatar upload on a slow link: its body may take longer than HTTP_BODY_TIMEOUT_SECONDS."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import tornado.web

from factsvc.avatar_composition import upload_policy
from factsvc.config import Settings
from factsvc.handlers.avatars import MIN_UPLOAD_BYTES_PER_SECOND
from tests.http.test_avatars_api import logged_in, put_head, status_of
from tests.support import images
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

BODY_TIMEOUT = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, http_body_timeout_seconds=BODY_TIMEOUT)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(settings)


async def test_an_upload_slower_than_the_body_timeout_is_still_read(
    api: Api, base_url: str
) -> None:
    # 2.5 s for the body: a phone on a slow uplink, far above the floor rate.
    token = await logged_in(api)
    data = images.noise_png((96, 96))
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(put_head(token, len(data))[:-2] + b"Connection: close\r\n\r\n")
        started = time.monotonic()
        pieces = 10
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            writer.write(data[start : start + step])
            await writer.drain()
            await asyncio.sleep(2.5 / pieces)
        assert time.monotonic() - started > 2 * BODY_TIMEOUT
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    assert status_of(answer) == 200, answer[:300]
    assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["user"]["avatar_url"]


async def test_an_upload_refused_before_its_body_keeps_the_body_timeout(
    http_server: object, base_url: str
) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(put_head(None, 2 << 20) + bytes(1000))
        await writer.drain()
        started = time.monotonic()
        answer = await asyncio.wait_for(reader.read(), BODY_TIMEOUT + 5)
        assert time.monotonic() - started < BODY_TIMEOUT + 1.5
    finally:
        writer.close()
    assert status_of(answer) == 401


async def test_other_bodies_keep_the_body_timeout(api: Api, base_url: str) -> None:
    token = await logged_in(api)
    head = (
        "POST /account/edit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + b'{"nickname"')
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), BODY_TIMEOUT + 5) == b""
        assert time.monotonic() - started < BODY_TIMEOUT + 1.5
    finally:
        writer.close()


def test_the_upload_timeout_lets_the_largest_body_arrive_at_the_floor_rate(
    settings: Settings,
) -> None:
    largest = with_settings(settings, avatar_max_bytes=2 << 20, http_body_timeout_seconds=10.0)
    assert upload_policy(largest).body_timeout_seconds == (2 << 20) / MIN_UPLOAD_BYTES_PER_SECOND
    small = with_settings(settings, avatar_max_bytes=1024, http_body_timeout_seconds=10.0)
    assert upload_policy(small).body_timeout_seconds == 10.0
