"""Connections whose requests Tornado's HTTP/1 parser refuses get an envelope answer, then close.

tornado.http1connection closes at once, without a word, on a request head (request line and
headers) over `max_header_size`, and writes a bare `400 Bad Request` with no body for a message
it cannot parse. The stream below answers both in the JSON envelope: 414 when the request line
alone outgrew the limit, 431 when the header block did, 400 for the rest. It then closes in
stages (RFC 9112 §9.6): half-close, read and drop what the client is still sending for a short
while, then close, so that the client reads the answer instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Any

import orjson
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPConnection, HTTPMessageDelegate
from tornado.iostream import IOStream, UnsatisfiableReadError

from factsvc.handlers.envelope import JSON_CONTENT_TYPE
from factsvc.handlers.error_map import error_answer
from factsvc.request_context import request_id_for
from factsvc.request_head import CheckedHeadDelegate

log = logging.getLogger(__name__)

# All that tornado.http1connection writes when a message breaks HTTP/1.1 (an HTTPInputError):
# a malformed request line or header line, a bad or missing Host, a bad Content-Length or
# Transfer-Encoding, a broken chunk, a declared body over max_body_size.
TORNADO_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 1 << 20
# One greedy run to the end of the line, trimmed after the match: optional blanks on both
# sides of a lazy group backtracked in cubic time over a line of blanks with no end, which a
# head over the limit may well be (2000 blanks took 13 s, 4000 took 100 s; 16 KB, hours).
_REQUEST_ID_LINE = re.compile(rb"\nX-Request-ID:([^\r\n]*)\r?\n", re.IGNORECASE)


def error_response(status: int, request_id: str) -> bytes:
    """A whole HTTP/1.1 answer: the envelope for `status` (handlers/error_map.py) with
    `request_id`, the headers every answer has, and `Connection: close`."""
    body = orjson.dumps({**error_answer(status, None).body, "request_id": request_id})
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    )
    return head.encode("ascii") + body


def head_overflow_status(received: bytes, limit: int | None) -> int:
    """414 (URI Too Long) when the first `limit` bytes received of a head over the limit hold
    no whole request line, else 431 (Request Header Fields Too Large): RFC 9110 §15.5.15,
    RFC 6585 §5. Empty lines before a request are skipped, as Tornado skips them (RFC 9112
    §2.2)."""
    return 431 if b"\n" in received.lstrip(b"\r\n")[:limit] else 414


def request_id_in(received: bytes) -> str:
    """The request's id: its X-Request-ID when a whole, well-formed one was received."""
    match = _REQUEST_ID_LINE.search(received)
    return request_id_for(match.group(1).strip(b" \t").decode("latin-1") if match else None)


class EnvelopeHTTPServer(HTTPServer):
    """Tornado's HTTPServer, each plain connection served through an EnvelopeStream, each
    request through a CheckedHeadDelegate."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.lingering: set[asyncio.Task[None]] = set()

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        if type(stream) is IOStream:
            # TCPServer has just wrapped the accepted socket and not used it yet: wrap it again.
            stream = EnvelopeStream(
                stream.socket,
                self.lingering,
                max_buffer_size=self.max_buffer_size,
                read_chunk_size=self.read_chunk_size,
            )
        super().handle_stream(stream, address)

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        return CheckedHeadDelegate(super().start_request(server_conn, request_conn))

    async def finish_lingering(self) -> None:
        """Wait for the staged closes under way to end by themselves (each is bounded by
        LINGER_SECONDS), then cancel any left: at a stop, after `close_all_connections()`
        (which may start more), so that the loop ends with no pending task and no open
        socket."""
        if self.lingering:
            await asyncio.wait(set(self.lingering), timeout=LINGER_SECONDS)
        left = set(self.lingering)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


class EnvelopeStream(IOStream):
    """An IOStream that answers in the envelope where HTTP1Connection would close silently (a
    head over the limit) or write a bare 400, and closes such a connection in stages.
    `lingering` holds the tasks that finish those closes."""

    def __init__(
        self, sock: socket.socket, lingering: set[asyncio.Task[None]], **kwargs: Any
    ) -> None:
        super().__init__(sock, **kwargs)
        self._lingering = lingering
        self._reading_head = False
        self._head_limit: int | None = None
        self._answered = False  # a final answer went out since this request's head was read
        self._linger = False
        self._answer_on_close = b""

    def read_until_regex(self, regex: bytes, max_bytes: int | None = None) -> Awaitable[bytes]:
        # HTTP1Connection reads each request's head this way, and nothing else.
        self._reading_head, self._head_limit, self._answered = True, max_bytes, False
        future = super().read_until_regex(regex, max_bytes)
        if isinstance(future, asyncio.Future):
            future.add_done_callback(self._head_read)
        return future

    def _head_read(self, _future: asyncio.Future[bytes]) -> None:
        self._reading_head = False

    def write(self, data: bytes | memoryview) -> asyncio.Future[None]:
        if data == TORNADO_BARE_400:
            self._linger = True
            if self._answered:
                # The rest of a message already answered was refused (a body far over the
                # limit after its 413): that answer stands, and nothing may follow it.
                data = b""
            else:
                request_id = request_id_for(None)
                log.info("400: malformed request", extra={"request_id": request_id})
                data = error_response(400, request_id)
        elif data[:10] != b"HTTP/1.1 1":  # an interim answer (100 Continue) is not one
            self._answered = True
        return super().write(data)

    def close(self, exc_info: Any = False) -> None:
        if not self.closed():
            if self._reading_head and isinstance(exc_info, UnsatisfiableReadError):
                self._answer_head_overflow()
            if self._linger:
                sock = self.socket.dup()
                sock.setblocking(False)
                task = asyncio.ensure_future(_close_in_stages(sock, self._answer_on_close))
                self._lingering.add(task)
                task.add_done_callback(self._lingering.discard)
        super().close(exc_info)

    def _answer_head_overflow(self) -> None:
        received = bytes(self._read_buffer)
        status = head_overflow_status(received, self._head_limit)
        request_id = request_id_in(received)
        log.info(
            "%d: request head over %s bytes",
            status,
            self._head_limit,
            extra={"request_id": request_id},
        )
        self._answer_on_close = error_response(status, request_id)
        self._linger = True


async def _close_in_stages(sock: socket.socket, answer: bytes) -> None:
    """Send `answer`, half-close, read and drop what still comes (at most LINGER_MAX_BYTES for
    LINGER_SECONDS), then close: RFC 9112 §9.6's staged close."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            if answer:
                await loop.sock_sendall(sock, answer)
            sock.shutdown(socket.SHUT_WR)
            dropped = 0
            while dropped < LINGER_MAX_BYTES:
                chunk = await loop.sock_recv(sock, 64 * 1024)
                if not chunk:
                    break
                dropped += len(chunk)
    except (OSError, TimeoutError):
        pass  # the client left or took too long: nothing more is owed to it
    finally:
        sock.close()
