"""A head that Tornado's request parsing raises ValueError on is refused as malformed."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from tornado.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
    split_host_and_port,
)

from factsvc.request_head import CheckedHeadDelegate

START = RequestStartLine("GET", "/fact?n=5", "HTTP/1.1")


class RoutingDelegate(HTTPMessageDelegate):
    """Splits the Host header as Tornado's HTTPServerRequest does, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        split_host_and_port(headers["Host"])
        self.calls.append("headers")
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self.calls.append(f"data {chunk!r}")
        return None

    def finish(self) -> None:
        self.calls.append("finish")

    def on_connection_close(self) -> None:
        self.calls.append("close")


def test_a_value_tornado_cannot_parse_is_a_malformed_message() -> None:
    checked = CheckedHeadDelegate(RoutingDelegate())
    with pytest.raises(HTTPInputError, match="request head not parsable"):
        checked.headers_received(START, HTTPHeaders({"Host": "a:" + "9" * 4301}))


def test_a_parsable_request_goes_through_unchanged() -> None:
    inner = RoutingDelegate()
    checked = CheckedHeadDelegate(inner)
    checked.headers_received(START, HTTPHeaders({"Host": "localhost:8888"}))
    checked.data_received(b"{}")
    checked.finish()
    checked.on_connection_close()
    assert inner.calls == ["headers", "data b'{}'", "finish", "close"]
