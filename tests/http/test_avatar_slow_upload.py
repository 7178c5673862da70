"""An avatar upload on a slow link: its body may take longer than HTTP_BODY_TIMEOUT_SECONDS."""

from __future__ import annotations

import asyncio
import random
import time

import orjson
import pytest
import tornado.web
from PIL import Image

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
    # 77 kB in 2.5 s: a phone on a slow uplink, twice the floor rate.
    token = await logged_in(api)
    pixels = random.Random(15).randbytes(160 * 160 * 3)
    data = images.encoded(Image.frombytes("RGB", (160, 160), pixels), "PNG")
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


async def test_an_upload_that_sends_less_than_it_declares_keeps_the_body_timeout(
    api: Api, base_url: str
) -> None:
    token = await logged_in(api)
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(put_head(token, 1000) + images.png())
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), BODY_TIMEOUT + 5) == b""
        assert time.monotonic() - started < BODY_TIMEOUT + 1.5
    finally:
        writer.close()


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


def test_an_uploads_body_may_take_its_length_at_the_floor_rate(settings: Settings) -> None:
    policy = upload_policy(
        with_settings(settings, avatar_max_bytes=2 << 20, http_body_timeout_seconds=10.0)
    )
    largest = (2 << 20) / MIN_UPLOAD_BYTES_PER_SECOND  # 128 s
    assert policy.body_seconds(None) == largest  # chunked: as long as the largest may take
    assert policy.body_seconds(str(2 << 20)) == largest
    assert policy.body_seconds(str(1 << 20)) == largest / 2
    assert policy.body_seconds("136") == 10.0
    assert policy.body_seconds("0" * 5000 + "136") == 10.0
    assert policy.body_seconds("9" * 5000) == largest
    assert policy.body_seconds("136,136") == largest
    assert policy.body_seconds("\u00b2") == largest
