"""What a page on a listed origin reads of the answers given where Tornado's HTTP/1 parser
refuses a request (414, 431, 400): the same CORS headers as every other answer, found on the
head's Origin line however long the head is and however it arrives, and only there."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from tornado.httpserver import HTTPServer

from factsvc.config import Settings
from factsvc.handlers.cors import EXPOSED_HEADERS
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test(timeout=30)

TRUSTED = "https://app.example"
FOREIGN = "https://evil.example"
REQUEST_ID = "page-report-0001"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with TRUSTED listed, for the application and the server alike."""
    return with_settings(settings, cors_origins=(TRUSTED,))


def origin_line(origin: str | None) -> bytes:
    return b"" if origin is None else b"Origin: %s\r\n" % origin.encode()


def too_long_url(origin: str | None, limit: int) -> bytes:
    """A GET of /fact with a query longer than the whole head may be (414)."""
    return (
        b"GET /fact?n=" + b"1" * (limit + 100) + b" HTTP/1.1\r\nHost: x\r\n"
        b"X-Request-ID: " + REQUEST_ID.encode() + b"\r\n" + origin_line(origin) + b"\r\n"
    )


def too_long_request_id(origin: str | None, limit: int) -> bytes:
    """A request whose X-Request-ID alone is longer than the whole head may be (431)."""
    return (
        b"GET /fact?n=5 HTTP/1.1\r\nHost: x\r\n"
        + origin_line(origin)
        + b"X-Request-ID: "
        + b"r" * (limit + 4000)
        + b"\r\n\r\n"
    )


def too_many_cookies(origin: str | None, limit: int) -> bytes:
    """A POST whose Cookie lines (other applications' cookies on the same host) come after
    Origin and outgrow the head's limit together (431)."""
    cookies = b"".join(b"Cookie: app%d=%s\r\n" % (i, b"c" * 900) for i in range(limit // 900 + 2))
    return (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + origin_line(origin)
        + b"X-Request-ID: "
        + REQUEST_ID.encode()
        + b"\r\n"
        + cookies
        + b"Content-Length: 2\r\n\r\n{}"
    )


def malformed(origin: str | None, _limit: int) -> bytes:
    """A request with a header line that is no header (400, before any handler)."""
    return (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + origin_line(origin)
        + b"X-Request-ID: "
        + REQUEST_ID.encode()
        + b"\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}"
    )


REFUSED = {
    "414 long URL": (too_long_url, 414),
    "431 long X-Request-ID": (too_long_request_id, 431),
    "431 cookies": (too_many_cookies, 431),
    "400 malformed": (malformed, 400),
}


class Answer:
    """An answer read off a raw socket: status, headers (lower-case names), envelope."""

    def __init__(self, raw: bytes) -> None:
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ")[1])
        self.headers = {
            name.lower(): value for name, _, value in (line.partition(": ") for line in lines)
        }
        assert int(self.headers["content-length"]) == len(body), "nothing may follow"
        self.body: dict[str, object] = orjson.loads(body)

    def cors_headers(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name.startswith("access-")}


async def exchange(base_url: str, *pieces: bytes, pause: float = 0.0) -> Answer:
    """Send `pieces` (`pause` seconds apart) and read the answer until the server closes."""
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(pause)
            writer.write(piece)
            await writer.drain()
        return Answer(await asyncio.wait_for(reader.read(), 10))
    finally:
        writer.close()


def assert_readable_by_trusted(answer: Answer) -> None:
    assert answer.cors_headers() == {
        "access-control-allow-origin": TRUSTED,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": EXPOSED_HEADERS,
    }
    assert answer.headers["vary"] == "Origin"
    assert answer.body["request_id"] == answer.headers["x-request-id"]


@pytest.mark.parametrize(("build", "status"), REFUSED.values(), ids=REFUSED.keys())
async def test_a_refused_request_from_a_listed_origin_gets_a_readable_answer(
    http_server: HTTPServer, base_url: str, settings: Settings, build: object, status: int
) -> None:
    assert callable(build)
    answer = await exchange(base_url, build(TRUSTED, settings.http_max_header_bytes))
    assert (answer.status, answer.body["code"]) == (status, 3)
    assert_readable_by_trusted(answer)
    if build is not too_long_request_id:
        assert answer.body["request_id"] == REQUEST_ID


@pytest.mark.parametrize("origin", [FOREIGN, None, "null", TRUSTED + ".evil.example", ""])
@pytest.mark.parametrize(("build", "status"), REFUSED.values(), ids=REFUSED.keys())
async def test_a_refused_request_from_any_other_origin_gets_no_cors_headers(
    http_server: HTTPServer,
    base_url: str,
    settings: Settings,
    build: object,
    status: int,
    origin: str | None,
) -> None:
    assert callable(build)
    answer = await exchange(base_url, build(origin, settings.http_max_header_bytes))
    assert answer.status == status
    assert answer.cors_headers() == {}
    assert answer.headers["vary"] == "Origin"


async def test_an_origin_beyond_the_first_read_of_a_long_head_is_found(
    http_server: HTTPServer, base_url: str
) -> None:
    # Tornado reads 64 KB at a time and gives up on a head at the first read over the limit.
    request = (
        b"GET /fact?n=" + b"1" * (200 << 10) + b" HTTP/1.1\r\nHost: x\r\n" + origin_line(TRUSTED)
    )
    answer = await exchange(base_url, request + b"\r\n")
    assert answer.status == 414
    assert_readable_by_trusted(answer)


async def test_an_origin_that_arrives_after_the_head_outgrew_the_limit_is_found(
    http_server: HTTPServer, base_url: str, settings: Settings
) -> None:
    start = b"GET /fact?n=5 HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * settings.http_max_header_bytes
    rest = b"\r\nX-Request-ID: " + REQUEST_ID.encode() + b"\r\n" + origin_line(TRUSTED) + b"\r\n"
    answer = await exchange(base_url, start, rest, pause=0.1)
    assert answer.status == 431
    assert_readable_by_trusted(answer)
    assert answer.body["request_id"] == REQUEST_ID


@pytest.mark.parametrize(
    "request_bytes",
    [
        # An Origin line in the body of a message refused for its framing.
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n"
        b"\r\nOrigin: https://app.example\r\n",
        # One beside another: Tornado would read "a,b", which no listed origin is.
        b"POST /login HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
        b"Origin: https://evil.example\r\nno colon here\r\n\r\n",
        # One after the empty line that ends a head over the limit.
        b"POST /login HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * (20 << 10) + b"\r\n"
        b"Content-Length: 34\r\n\r\n\r\nOrigin: https://app.example\r\n",
        # A head over the limit whose Origin line never ends.
        b"GET /fact HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * (20 << 10) + b"\r\n"
        b"Origin: https://app.example",
    ],
)
async def test_only_a_whole_lone_origin_line_of_the_head_counts(
    http_server: HTTPServer, base_url: str, request_bytes: bytes
) -> None:
    answer = await exchange(base_url, request_bytes)
    assert answer.status in {400, 431}
    assert answer.cors_headers() == {}
