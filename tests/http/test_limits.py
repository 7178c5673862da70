"""Request size limits: a JSON 413 as soon as the headers show a body is too large."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer

from factsvc.config import Settings
from tests.support.api import Api

pytestmark = pytest.mark.gen_test(timeout=30)


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


async def raw_exchange(base_url: str, request: bytes, *, wait: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(base_url))
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        return head + await asyncio.wait_for(reader.readexactly(length), wait)
    finally:
        writer.close()


async def test_a_body_over_the_limit_gets_a_json_413(
    http_client: AsyncHTTPClient, base_url: str, settings: Settings
) -> None:
    api = Api(http_client, base_url)
    padding = "a" * (settings.http_max_body_bytes + 1)
    reply = await api.post("/register", raw=orjson.dumps({"username": padding}))
    assert (reply.status, reply.code) == (413, 3)


async def test_a_huge_declared_body_is_refused_before_it_is_sent(
    http_server: HTTPServer, base_url: str
) -> None:
    request = (
        b"POST /register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n"
    )
    response = await raw_exchange(base_url, request, wait=2.0)
    assert response.startswith(b"HTTP/1.1 413")
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["code"] == 3


async def test_a_chunked_body_over_the_limit_gets_a_json_413(
    http_server: HTTPServer, base_url: str, settings: Settings
) -> None:
    chunk = b"a" * 8192
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(chunk), chunk)
        for _ in range(settings.http_max_body_bytes // len(chunk) + 2)
    )
    request = (
        b"POST /register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    response = await raw_exchange(base_url, request)
    assert response.startswith(b"HTTP/1.1 413")
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["code"] == 3


async def test_form_and_multipart_bodies_are_never_parsed(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    multipart = b'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n--x--\r\n'
    reply = await api.post(
        "/register", raw=multipart, content_type="multipart/form-data; boundary=x"
    )
    assert (reply.status, reply.code) == (415, 3)
