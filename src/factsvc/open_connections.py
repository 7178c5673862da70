"""The server's open connections, each with the request it reads or answers: what a stop closes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters


class Connection(Protocol):
    """An accepted connection (http_connection.EnvelopeStream)."""

    def idle_since(self) -> float | None:
        """Since when (time.monotonic()) it has waited for a request with nothing received
        and nothing left to send; None while a request is under way."""

    def close(self) -> None:
        """Close the socket."""


class OpenConnections:
    """Every open connection, from its acceptance to its close, each with the HTTP1Connection
    that reads its current request and writes that request's answer."""

    def __init__(self) -> None:
        self._requests: dict[Connection, HTTP1Connection | None] = {}

    def __len__(self) -> int:
        return len(self._requests)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._requests))

    def opened(self, connection: Connection) -> None:
        self._requests[connection] = None

    def closed(self, connection: Connection) -> None:
        self._requests.pop(connection, None)

    def reading(self, connection: Connection, request: HTTP1Connection) -> None:
        """`request` now reads the next request on `connection` (Tornado makes one for each)."""
        if connection in self._requests:
            self._requests[connection] = request

    def close_after_answers(self, params: HTTP1ConnectionParameters) -> None:
        """From now on every answer says `Connection: close` and its connection closes once
        the answer is sent (RFC 9112 §9.6). `params` are the server's, shared by every
        connection: `no_keep_alive` covers each request whose head arrives from now on; a
        request already read is marked the way Tornado marks one that asked for close. An
        answer whose head went out already cannot say it: that connection closes after its
        next request instead."""
        params.no_keep_alive = True
        for request in self._requests.values():
            # Private to Tornado 6 (tests/integration/test_graceful_stop.py checks it):
            # write_headers adds Connection: close and _finish_request closes the stream.
            if request is not None and request._response_start_line is None:
                request._disconnect_on_finish = True

    def close_idle(self, now: float, quiet_seconds: float) -> int:
        """Close each connection that has waited at least `quiet_seconds` before `now` (both
        by time.monotonic()) for a request with nothing received; how many were closed. The
        wait lets a request that its client sent at the last moment arrive and be answered
        rather than cut off."""
        idle = [
            connection
            for connection in self
            if (since := connection.idle_since()) is not None and now - since >= quiet_seconds
        ]
        for connection in idle:
            connection.close()
        return len(idle)
