"""Connections whose requests Tornado's HTTP/1 parser refuses get an envelope answer, then close.

tornado.http1connection closes at once, without a word, on a request head (request line and
headers) over `max_header_size`, and writes a bare `400 Bad Request` with no body for a message
it cannot parse. The stream below answers both in the JSON envelope: 414 when the request line
alone outgrew the limit, 431 when the header block did, 400 for the rest, with the CORS headers
a listed origin gets on every answer, so that a page reads it. It then closes in stages (RFC
9112 §9.6): half-close, read and drop what the client is still sending for a short while, then
close, so that the client reads the answer instead of a connection reset (staged_close.py).

For a stop that loses no request (graceful_stop.py), the server keeps every open connection in
its OpenConnections, each knowing since when it has been idle, and stops accepting without
resetting a connection that reached its listeners (listener_close.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Collection, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import orjson
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPConnection, HTTPMessageDelegate
from tornado.iostream import IOStream, UnsatisfiableReadError

from factsvc.handlers.cors import origin_answer_headers
from factsvc.handlers.envelope import JSON_CONTENT_TYPE
from factsvc.handlers.error_map import error_answer
from factsvc.handlers.http_caching import NO_STORE
from factsvc.listener_close import queued_connections, refuse_new_connections
from factsvc.open_connections import OpenConnections
from factsvc.refused_head import head_of, head_overflow_status, origin_in, request_id_in
from factsvc.request_head import CheckedHeadDelegate
from factsvc.staged_close import LINGER_SECONDS, close_in_stages, rest_of_head

log = logging.getLogger(__name__)

# All that tornado.http1connection writes when a message breaks HTTP/1.1 (an HTTPInputError):
# a malformed request line or header line, a bad or missing Host, a bad Content-Length or
# Transfer-Encoding, a broken chunk, a declared body over max_body_size.
TORNADO_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"


def error_response(status: int, request_id: str, headers: Mapping[str, str]) -> bytes:
    """A whole HTTP/1.1 answer: the envelope for `status` (handlers/error_map.py) with
    `request_id`, the headers every answer has, `headers` (Latin-1 values), `Connection:
    close` and, as every error, `Cache-Control: no-store`."""
    body = orjson.dumps({**error_answer(status, None).body, "request_id": request_id})
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        f"Cache-Control: {NO_STORE}\r\n"
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
    request through a CheckedHeadDelegate; `connections` holds them while they are open."""

    def initialize(self, *args: Any, listed_origins: Collection[str] = (), **kwargs: Any) -> None:
        """Tornado's HTTPServer settings, and the CORS origins (CORS_ORIGINS) whose pages may
        read the answers given here."""
        super().initialize(*args, **kwargs)
        self.lingering: set[asyncio.Task[None]] = set()
        self.listed_origins = frozenset(listed_origins)
        self.connections = OpenConnections()
        self.listeners: list[socket.socket] = []

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        sockets = list(sockets)
        self.listeners += sockets
        super().add_sockets(sockets)

    async def stop_accepting(self) -> None:
        """Stop accepting without resetting a connection that reached a listener: new ones
        are refused, and those under way or queued are served (listener_close.py)."""
        await refuse_new_connections(self.listeners)
        for connection, address in queued_connections(self.listeners):
            self.handle_stream(IOStream(connection), address)
        self.listeners.clear()
        self.stop()

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        if type(stream) is IOStream:
            # TCPServer has just wrapped the accepted socket and not used it yet: wrap it again.
            stream = EnvelopeStream(
                stream.socket,
                self.lingering,
                self.listed_origins,
                self.connections,
                max_buffer_size=self.max_buffer_size,
                read_chunk_size=self.read_chunk_size,
            )
        super().handle_stream(stream, address)

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        stream = getattr(server_conn, "stream", None)  # an HTTP1ServerConnection's
        if isinstance(stream, EnvelopeStream) and isinstance(request_conn, HTTP1Connection):
            self.connections.reading(stream, request_conn)
        return CheckedHeadDelegate(super().start_request(server_conn, request_conn))

    def close_after_answers(self) -> None:
        """Every answer from now on says `Connection: close` and ends its connection."""
        self.connections.close_after_answers(self.conn_params)

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
    the answers. It is in `connections` from its creation to its close."""

    def __init__(
        self,
        sock: socket.socket,
        lingering: set[asyncio.Task[None]],
        listed_origins: Collection[str],
        connections: OpenConnections,
        **kwargs: Any,
    ) -> None:
        super().__init__(sock, **kwargs)
        self._lingering = lingering
        self._listed_origins = listed_origins
        self._connections = connections
        connections.opened(self)
        self._waiting_since = time.monotonic()
        self._reading_head = False
        self._head_limit: int | None = None
        self._head: asyncio.Future[bytes] | None = None  # the read of the latest head
        self._answered = False  # a final answer went out since this request's head was read
        self._linger = False
        self._overflow: bytes | None = None  # what was received of a head over the limit

    def read_until_regex(self, regex: bytes, max_bytes: int | None = None) -> Awaitable[bytes]:
        # HTTP1Connection reads each request's head this way, and nothing else.
        self._reading_head, self._head_limit, self._answered = True, max_bytes, False
        self._head = None  # a read that fails at once closes the stream before it returns
        self._waiting_since = time.monotonic()
        future = super().read_until_regex(regex, max_bytes)
        if isinstance(future, asyncio.Future):
            self._head = future
        return future

    def _reads_head(self) -> bool:
        # Asked of the head's future rather than set by a done-callback: a callback would
        # cost every request one more turn of the event loop.
        return self._reading_head and (self._head is None or not self._head.done())

    def idle_since(self) -> float | None:
        """Since when (time.monotonic()) this connection has waited for a request with
        nothing of it received (here or in the socket) and nothing left to send; else None."""
        if not self._reads_head() or self._read_buffer_size or self.writing() or self.closed():
            return None
        try:
            if self.socket.recv(1, socket.MSG_PEEK):
                return None
        except OSError:
            pass  # nothing to read (BlockingIOError), or a broken connection: nothing to lose
        return self._waiting_since

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
        self._connections.closed(self)
        if not self.closed():
            if self._reads_head() and isinstance(exc_info, UnsatisfiableReadError):
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
                received = await rest_of_head(sock, self._overflow)
            except asyncio.CancelledError:  # a stop that could not wait (finish_lingering)
                sock.close()
                raise
            status = head_overflow_status(received, self._head_limit)
            why = f"request head over {self._head_limit} bytes"
            answer = refusal_response(status, head_of(received), self._listed_origins, why)
        await close_in_stages(sock, answer)
