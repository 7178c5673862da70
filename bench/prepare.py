"""What scenarios need before they are measured: warm caches, registered users, open sessions."""

from __future__ import annotations

import http.client
import json
import secrets
import string
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

# Below the service's queue limits (FACT_MAX_PENDING, BCRYPT_MAX_PENDING), so that preparing
# is never refused for being too eager; a refusal that happens anyway is retried.
CONCURRENCY = 4
RETRIES = 50


class Client:
    """Keep-alive HTTP/1.1 to one server, one connection per calling thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.connection = connection
        return connection

    def call(
        self, method: str, path: str, body: object | None = None
    ) -> tuple[int, bytes, http.client.HTTPMessage]:
        """The status, body and headers, retrying a 503 (a full queue) after a pause."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        payload = json.dumps(body).encode() if body is not None else None
        for _ in range(RETRIES):
            connection = self._connection()
            try:
                connection.request(method, path, payload, headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                time.sleep(0.2)
                continue
            if response.status != 503:
                return response.status, data, response.headers
            # Retry-After is in whole seconds; a queue of hashes or factorials drains sooner.
            time.sleep(0.1)
        raise RuntimeError(f"{method} {path}: only 503s or broken connections, {RETRIES} times")

    def expect(self, status: int, method: str, path: str, body: object | None = None) -> None:
        got, data, _ = self.call(method, path, body)
        if got != status:
            raise RuntimeError(f"{method} {path}: {got} {data[:500]!r}, expected {status}")


def warm_factorials(url: str, values: Iterable[int]) -> None:
    """Ask once for each n, so that later requests for it are cache hits."""
    client = Client(url)
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for _ in pool.map(lambda n: client.expect(200, "GET", f"/fact?n={n}"), values):
            pass


def random_word(length: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


@dataclass(frozen=True)
class Users:
    usernames: list[str]
    password: str

    @classmethod
    def make(cls, count: int) -> Users:
        prefix = "u" + random_word(5)
        return cls([f"{prefix}{i}" for i in range(count)], f"Bench-pass-{random_word(12)}-1")

    def register(self, url: str) -> None:
        client = Client(url)

        def register(username: str) -> None:
            body = {"username": username, "password": self.password}
            client.expect(201, "POST", "/register", body)

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for _ in pool.map(register, self.usernames):
                pass

    def log_in(self, url: str, count: int) -> list[tuple[str, str]]:
        """(token, "SID=..." cookie) for each of the first `count` users."""
        client = Client(url)

        def log_in(username: str) -> tuple[str, str]:
            body = {"username": username, "password": self.password}
            status, data, headers = client.call("POST", "/login", body)
            if status != 200:
                raise RuntimeError(f"login of {username}: {status} {data[:500]!r}")
            cookie = SimpleCookie(headers["Set-Cookie"])
            name, morsel = next(iter(cookie.items()))
            return str(json.loads(data)["token"]), f"{name}={morsel.coded_value}"

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(pool.map(log_in, self.usernames[:count]))


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path
