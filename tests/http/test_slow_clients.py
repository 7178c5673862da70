"""Slow and half-open connections are cut off and do not starve other clients."""

from __future__ import annotations

import asyncio
import time

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer

from factsvc.config import Settings
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

IDLE_TIMEOUT = 1.0
# Long enough that a request kept waiting until the trickling clients are cut shows plainly.
TRICKLE_IDLE_TIMEOUT = 5.0


@pytest.fixture
def idle_timeout() -> float:
    """HTTP_IDLE_TIMEOUT_SECONDS for the test; a test parametrized with it sets its own."""
    return IDLE_TIMEOUT


@pytest.fixture
def settings(settings: Settings, idle_timeout: float) -> Settings:
    return with_settings(settings, http_idle_timeout_seconds=idle_timeout)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(settings)


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


async def test_a_half_sent_request_is_closed_after_the_idle_timeout(
    http_server: HTTPServer, base_url: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(base_url))
    try:
        writer.write(b"GET /fact?n=1 HTTP/1.1\r\nHost: loc")
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), IDLE_TIMEOUT + 3) == b""
        assert IDLE_TIMEOUT - 0.2 <= time.monotonic() - started <= IDLE_TIMEOUT + 2
    finally:
        writer.close()


@pytest.mark.parametrize("idle_timeout", [TRICKLE_IDLE_TIMEOUT])
async def test_normal_requests_stay_fast_while_200_clients_trickle_bytes(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    port = port_of(base_url)
    stop = asyncio.Event()

    async def trickle() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /fact?n=3 HTTP/1.1\r\n")
            while not stop.is_set():
                writer.write(b"X-Slow: a\r\n")
                await writer.drain()
                await asyncio.sleep(0.1)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    slow = [asyncio.ensure_future(trickle()) for _ in range(200)]
    try:
        await asyncio.sleep(0.3)
        times = []
        for n in range(20):
            started = time.monotonic()
            response = await http_client.fetch(f"{base_url}/fact?n={n}")
            times.append(time.monotonic() - started)
            assert response.code == 200
        slowest = max(times)
        # A request kept waiting behind the trickling clients would wait until the idle timeout
        # cuts them (~4.7 s from here) or for good; below 1 s leaves room for a loaded machine.
        assert slowest < 1.0, f"slowest normal request took {slowest * 1000:.0f} ms"
    finally:
        stop.set()
        await asyncio.gather(*slow, return_exceptions=True)
