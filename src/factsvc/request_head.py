"""A request head that Tornado cannot turn into a request is a malformed message, not a crash."""

from __future__ import annotations

from collections.abc import Awaitable

from tornado.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)


class CheckedHeadDelegate(HTTPMessageDelegate):
    """Hands a request to `delegate` (Tornado's router), refusing as malformed (HTTPInputError,
    which the HTTP/1 parser answers with 400: see http_connection.py) a head whose values
    Tornado's request parsing raises ValueError on.

    Tornado builds the request before any handler exists, and logs whatever that raises as
    "Uncaught exception" with a traceback, then drops the connection without an answer. Its
    grammar checks let through a Host port of thousands of digits (`Host: a:999...`), which
    int() then refuses (Python's limit of 4300 digits); any client could fill the log so.
    """

    def __init__(self, delegate: HTTPMessageDelegate) -> None:
        self._delegate = delegate

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        try:
            return self._delegate.headers_received(start_line, headers)
        except ValueError as error:
            raise HTTPInputError(f"request head not parsable: {error}") from error

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self._delegate.data_received(chunk)

    def finish(self) -> None:
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()
