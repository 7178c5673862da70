"""Client text cannot forge a log line: each logging path, in both formats, over real sockets.

Each test configures logging as the service does (configure_logging, with factsvc.log), drives
one path with every kind of line break and terminal control a client can send there, and
checks that the file holds exactly one clean line per record written."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.web import HTTPError

from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable, InvalidInput, NotFound
from factsvc.handlers.base import BaseHandler
from factsvc.log_escaping import ESCAPED_CATEGORIES
from factsvc.logs import configure_logging, flush_logging
from tests.support.api import PASSWORD, Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

# A line as the plain format writes one, dated where no real record can be.
FORGED = "1999-12-31 23:59:59,000 INFO [1] - factsvc.security: login_succeeded user=admin"
# What a client can put in JSON text: every kind of line break, and terminal controls.
IN_JSON = {
    "LF": "\n",
    "CR": "\r",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "ANSI": "\x1b[2K\x1b[1G",
}
# What a client can put in a request line or header: bytes that Tornado decodes as Latin-1,
# so NEL and the UTF-8 of U+2028 (C1 controls once decoded), and ESC where Tornado lets it in.
IN_BYTES = {"NEL": b"\x85", "LINE SEPARATOR": "\u2028".encode(), "ANSI": b"\x1b[2K"}
RECORD_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class RaisingHandler(BaseHandler):
    """Raises each kind of error BaseHandler logs, with the client's text in it."""

    async def post(self, kind: str) -> None:
        text = str(self.json_body()["text"])
        if kind == "invalid":
            raise InvalidInput({text: "is not an accepted field"})
        if kind == "not_found":
            raise NotFound(text)
        if kind == "http":
            raise HTTPError(400, "refused %s", text)
        if kind == "dependency":
            raise DependencyUnavailable({"redis": text}) from ConnectionError(text)
        raise ValueError(text)


class RecordCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class LogFile:
    path: Path
    format: str
    counter: RecordCounter = field(default_factory=RecordCounter)
    start: int = 0

    def lines(self) -> list[str]:
        """The lines written since the counter started counting records."""
        assert flush_logging(), "the log file's writer fell behind"
        text = self.path.read_text(encoding="utf-8")
        assert text.endswith("\n")
        return text[:-1].split("\n")[self.start :]

    def assert_one_clean_line_per_record(self) -> list[str]:
        lines = self.lines()
        assert len(lines) == self.counter.count, "a record was split over lines"
        for line in lines:
            assert len(line.splitlines()) == 1, line
            assert not [c for c in line if unicodedata.category(c) in ESCAPED_CATEGORIES], line
            assert not line.startswith(FORGED[:10]), line
            if self.format == "json":
                assert json.loads(line)["level"] in RECORD_LEVELS
            else:
                assert line.split(" ", 3)[2] in RECORD_LEVELS, line
        return lines


@pytest.fixture(params=["plain", "json"])
def log_file(request: pytest.FixtureRequest, settings: Settings) -> Iterator[LogFile]:
    """The service's logging, configured for this test, and what it wrote."""
    root = logging.getLogger()
    before = set(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", "tornado.access", "asyncio")}
    levels.update({name: logging.getLogger(name).level for name in ("pymongo", "redis")})
    logged = with_settings(settings, log_to_file=True, log_format=request.param, log_level="DEBUG")
    configure_logging(logged)
    result = LogFile(logged.log_dir / "factsvc.log", request.param)
    result.start = len(result.lines())  # the record saying logging is configured
    root.addHandler(result.counter)
    yield result
    for handler in set(root.handlers) - before:
        root.removeHandler(handler)
        handler.close()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    # A second failed login of one name is refused, so rate_limited is logged too; the peer is
    # a trusted proxy, so X-Forwarded-For names the client that the events log.
    application = app_factory(
        with_settings(settings, login_account_max_failures=1, trusted_proxies=("127.0.0.1",))
    )
    application.wildcard_router.add_rules([(r"/raise/(\w+)", RaisingHandler)])
    return application


async def raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send `request` as bytes on a new connection; what comes back until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", urlsplit(base_url).port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


def request_bytes(target: bytes, *headers: bytes, method: bytes = b"GET") -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: localhost", b"Connection: close"]
    return b"\r\n".join([*lines, *headers, b"", b""])


Scenario = Callable[[Api, str], Awaitable[object]]


async def _login_body_field_name(api: Api, text: str) -> None:
    body = {"username": "alice", "password": PASSWORD, "x" + text: 1}
    assert (await api.post("/login", body)).status == 400


async def _login_username(api: Api, text: str) -> None:
    for _ in range(2):  # login_failed, then rate_limited
        await api.post("/login", {"username": "bob" + text, "password": PASSWORD})


def _raised(kind: str) -> Scenario:
    async def scenario(api: Api, text: str) -> None:
        reply = await api.post(f"/raise/{kind}", {"text": text})
        assert reply.status >= 400

    return scenario


@pytest.mark.parametrize(
    "scenario",
    [
        _login_body_field_name,
        _login_username,
        "invalid",
        "not_found",
        "http",
        "dependency",
        "unexpected",
    ],
    ids=[
        "login body field name",
        "login username and rate-limit subject",
        "InvalidInput",
        "NotFound",
        "HTTPError",
        "DependencyUnavailable and its cause",
        "unexpected error's traceback",
    ],
)
async def test_client_text_in_a_json_body_cannot_forge_a_line(
    api: Api, log_file: LogFile, scenario: Scenario | str
) -> None:
    drive = _raised(scenario) if isinstance(scenario, str) else scenario
    for kind in IN_JSON.values():
        await drive(api, kind + FORGED)
    lines = log_file.assert_one_clean_line_per_record()
    assert sum("login_succeeded" in line for line in lines) >= len(IN_JSON)


async def test_the_issue_example_writes_one_debug_line_and_no_forged_one(
    api: Api, log_file: LogFile
) -> None:
    body = {"username": "alice", "password": PASSWORD, "\n" + FORGED: 1}
    reply = await api.post("/login", body)
    assert (reply.status, reply.code) == (400, 3)
    assert reply.body["errors"] == {"\n" + FORGED: "is not an accepted field"}
    lines = log_file.assert_one_clean_line_per_record()
    (line,) = [line for line in lines if "login_succeeded" in line]
    assert "DEBUG" in line


@pytest.mark.parametrize("kind", IN_BYTES)
async def test_client_bytes_in_the_request_line_and_headers_cannot_forge_a_line(
    http_server: HTTPServer, base_url: str, log_file: LogFile, kind: str
) -> None:
    hostile = IN_BYTES[kind] + FORGED.encode()
    quoted = hostile.replace(b" ", b"%20")
    # A token that passes where FORGED's spaces, commas or brackets would be refused.
    token = IN_BYTES[kind] + b"forged_login_succeeded"

    def posted(path: bytes, body: object, *headers: bytes) -> bytes:
        data = orjson.dumps(body)
        length = b"Content-Length: %d" % len(data)
        json_type = b"Content-Type: application/json"
        return request_bytes(path, json_type, length, *headers, method=b"POST") + data

    exchanges = [
        # The access log's path, and NotFound's.
        request_bytes(b"/nowhere" + quoted),
        # A path and an Origin that Tornado's origin check cannot parse.
        request_bytes(b"/logout" + quoted, b"Origin: http://evil" + hostile, method=b"POST"),
        # cross_origin_refused: its origin and path.
        request_bytes(b"/logout/" + token, b"Origin: http://evil" + token, method=b"POST"),
        # registered, login_failed and rate_limited with a client named by X-Forwarded-For
        # (an IPv6 scope id may hold any text), and an X-Request-ID that is not taken.
        posted(
            b"/register",
            {"username": "carol", "password": PASSWORD},
            b"X-Forwarded-For: fe80::1%" + token,
            b"X-Request-ID: " + hostile,
        ),
        posted(
            b"/login",
            {"username": "bob", "password": PASSWORD},
            b"X-Forwarded-For: fe80::1%" + token,
        ),
        # Tornado's own log of a malformed request, which quotes the header.
        request_bytes(b"/healthz", b"X-Broken: a" + b"\x01" + hostile),
    ]
    for exchange in exchanges:
        await raw_exchange(base_url, exchange)
    lines = log_file.assert_one_clean_line_per_record()
    marked = " ".join(line for line in lines if "login_succeeded" in line)
    assert "tornado.general" in marked
    # Tornado refuses ESC in a request line or header value itself, and logs it quoted.
    assert ("factsvc.access" in marked and "factsvc.security" in marked) or kind == "ANSI"


async def test_every_handler_the_service_configures_escapes_its_lines(log_file: LogFile) -> None:
    logging.getLogger("factsvc.test").warning("a\n%s", FORGED)
    lines = log_file.assert_one_clean_line_per_record()
    assert len(lines) == 1
    assert re.search(r"a\\n1999-12-31", lines[0])
