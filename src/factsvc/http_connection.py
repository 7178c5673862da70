"""Connections whose requests Tornado's HTTP/1 parser refuses get an envelope answer, then close.

tornado.http1connection closes at once, without a word, on a request head (request line and
headers) over `max_header_size`, and writes a bare `400 Bad Request` with no body for a message
it cannot parse. The stream below answers both in the JSON envelope: 414 when the request line
alone outgrew the limit, 431 when the header block did, 400 for the rest, with the CORS headers
a listed origin gets on every answer, so that a page reads it. It then closes in stages (RFC
9112 §9.6): half-close, read and drop what the client is still sending for a short while, then
close, so that the client reads the answer instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Collection, Mapping
from http import HTTPStatus
from typing import Any

import orjson
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPConnection, HTTPMessageDelegate
from tornado.iostream import IOStream, UnsatisfiableReadError

from factsvc.handlers.cors import origin_answer_headers
from factsvc.handlers.envelope import JSON_CONTENT_TYPE
from factsvc.handlers.error_map import error_answer
from factsvc.refused_head import head_end, head_of, head_overflow_status, origin_in, request_id_in
from factsvc.request_head import CheckedHeadDelegate

log = logging.getLogger(__name__)

# All that tornado.http1connection writes when a message breaks HTTP/1.1 (an HTTPInputError):
# a malformed request line or header line, a bad or missing Host, a bad Content-Length or
# Transfer-Encoding, a broken chunk, a declared body over max_body_size.
TORNADO_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 1 << 20
# When a head outgrows the limit, its later lines (Origin, X-Request-ID) may still be on their
# way: the answer waits this long at most, for this many bytes at most, for the head's end.
HEAD_REST_SECONDS = 0.25
HEAD_REST_MAX_BYTES = 256 << 10


def error_response(status: int, request_id: str, headers: Mapping[str, str]) -> bytes:
    """A whole HTTP/1.1 answer: the envelope for `status` (handlers/error_map.py) with
    `request_id`, the headers every answer has, `headers` (Latin-1 values) and
    `Connection: close`."""
    body = orjson.dumps({**error_answer(status, None).body, "request_id": request_id})
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"X-Request-ID: {request_id}\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


def refusal_response(status: int, head: bytes, listed_origins: Collection[str], why: str) -> bytes:
    """error_response for a refused `head` (as much of it as was received), with its request
    id and the CORS headers its Origin gets among `listed_origins` (handlers/cors.py); logs
    the refusal and `why` at INFO."""
    request_id = request_id_in(head)
    log.info("%d: %s", status, why, extra={"request_id": request_id})
    return error_response(
        status, request_id, origin_answer_headers(origin_in(head), listed_origins)
    )


class EnvelopeHTTPServer(HTTPServer):
    """Tornado's HTTPServer, each plain connection served through an EnvelopeStream, each
    request through a CheckedHeadDelegate."""

    def initialize(self, *args: Any, listed_origins: Collection[str] = (), **kwargs: Any) -> None:
        """Tornado's HTTPServer settings, and the CORS origins (CORS_ORIGINS) whose pages may
        read the answers given here."""
        super().initialize(*args, **kwargs)
        self.lingering: set[asyncio.Task[None]] = set()
        self.listed_origins = frozenset(listed_origins)

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        if type(stream) is IOStream:
            # TCPServer has just wrapped the accepted socket and not used it yet: wrap it again.
            stream = EnvelopeStream(
                stream.socket,
                self.lingering,
                self.listed_origins,
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
    `lingering` holds the tasks that finish those closes; pages on `listed_origins` may read
    the answers."""

    def __init__(
        self,
        sock: socket.socket,
        lingering: set[asyncio.Task[None]],
        listed_origins: Collection[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(sock, **kwargs)
        self._lingering = lingering
        self._listed_origins = listed_origins
        self._reading_head = False
        self._head_limit: int | None = None
        self._head: asyncio.Future[bytes] | None = None  # the read of the latest head
        self._answered = False  # a final answer went out since this request's head was read
        self._linger = False
        self._overflow: bytes | None = None  # what was received of a head over the limit

    def read_until_regex(self, regex: bytes, max_bytes: int | None = None) -> Awaitable[bytes]:
        # HTTP1Connection reads each request's head this way, and nothing else.
        self._reading_head, self._head_limit, self._answered = True, max_bytes, False
        future = super().read_until_regex(regex, max_bytes)
        if isinstance(future, asyncio.Future):
            self._head = future
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
                head = head_of(self._head_read_whole())
                data = refusal_response(400, head, self._listed_origins, "malformed request")
        elif data[:10] != b"HTTP/1.1 1":  # an interim answer (100 Continue) is not one
            self._answered = True
        return super().write(data)

    def _head_read_whole(self) -> bytes:
        """The latest head HTTP1Connection read (a 400 comes after its head), else nothing."""
        head = self._head
        if head is None or not head.done() or head.cancelled() or head.exception():
            return b""
        return head.result()

    def close(self, exc_info: Any = False) -> None:
        if not self.closed():
            if self._reading_head and isinstance(exc_info, UnsatisfiableReadError):
                self._overflow = bytes(self._read_buffer)
                self._linger = True
            if self._linger:
                sock = self.socket.dup()
                sock.setblocking(False)
                task = asyncio.ensure_future(self._answer_in_stages(sock))
                self._lingering.add(task)
                task.add_done_callback(self._lingering.discard)
        super().close(exc_info)

    async def _answer_in_stages(self, sock: socket.socket) -> None:
        """Close `sock` in stages, answering first a head over the limit (a 400 is written
        already)."""
        answer = b""
        if self._overflow is not None:
            try:
                received = await _rest_of_head(sock, self._overflow)
            except asyncio.CancelledError:  # a stop that could not wait (finish_lingering)
                sock.close()
                raise
            status = head_overflow_status(received, self._head_limit)
            why = f"request head over {self._head_limit} bytes"
            answer = refusal_response(status, head_of(received), self._listed_origins, why)
        await _close_in_stages(sock, answer)


async def _rest_of_head(sock: socket.socket, received: bytes) -> bytes:
    """`received` (the start of a head over the limit) and what follows it on `sock` up to
    the end of the head, at most HEAD_REST_MAX_BYTES more for at most HEAD_REST_SECONDS."""
    start = len(received) - len(received.lstrip(b"\r\n"))
    if head_end(received, start) is not None:
        return received
    buffer = bytearray(received)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(HEAD_REST_SECONDS):
            while len(buffer) - len(received) < HEAD_REST_MAX_BYTES:
                chunk = await loop.sock_recv(sock, 64 * 1024)
                if not chunk:
                    break
                buffer += chunk
                # The end may straddle the chunk's start: "\n\r\n" is three bytes long.
                if head_end(buffer, max(start, len(buffer) - len(chunk) - 2)) is not None:
                    break
    except (OSError, TimeoutError):
        pass  # what came is all there is to read the head from
    return bytes(buffer)


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
