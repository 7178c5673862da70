"""A plain HTTP/1.1 client for the nginx tests that chooses its own loopback source address,
so that nginx sees a client other than itself (all of 127.0.0.0/8 is this machine)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any

import orjson

from factsvc.embedded import LOOPBACK

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: dict[str, Any]
    # The body as received: `body` is its JSON, unless it came compressed (then {}).
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def call(
    port: int,
    method: str,
    path: str,
    body: object = None,
    *,
    headers: dict[str, str] | None = None,
    source: str = LOOPBACK,
    raw: bytes | None = None,
) -> Answer:
    """One request from `source` to LOOPBACK:`port` on a connection of its own."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10, source_address=(source, 0))
    try:
        payload = raw if raw is not None else None if body is None else orjson.dumps(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        decoded = orjson.loads(data) if data and "Content-Encoding" not in response.headers else {}
        return Answer(response.status, response.headers, decoded, data)
    finally:
        connection.close()


def login(port: int, username: str, password: str = PASSWORD, **options: Any) -> Answer:
    """POST /login in token mode (the session comes back as `token`)."""
    body = {"username": username, "password": password, "session": "token"}
    return call(port, "POST", "/login", body, **options)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
