"""Malformed values of every request header the service or Tornado parses get a clean answer.

Clean: an answer, with a status below 500, in the JSON envelope (or the route's own 2xx body),
and no ERROR record nor traceback in the log. Requests go over raw sockets, so that any byte can
be sent, CR, LF and NUL included. PARSED_HEADERS lists the headers and what parses each; each
gets many values on the requests that reach its parser, and fewer on every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import ipaddress
import logging
import re
from dataclasses import dataclass

import hypothesis
import orjson
import pytest
import tornado.web
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from tornado.httpclient import AsyncHTTPClient
from tornado.httputil import HTTPHeaders, HTTPInputError
from tornado.ioloop import IOLoop

from factsvc.api_schema.defaults import SESSION_COOKIE
from factsvc.config import Settings
from factsvc.routes import ROUTES
from tests.support.api import PASSWORD, Api
from tests.support.servers import AppFactory, with_settings

TRUSTED = "https://app.example"
USERNAME = "hostile1"
EXCHANGE_SECONDS = 5.0

# Each header: what parses it, and the requests (method and path, see targets()) that reach
# that parser. Every route gets every header in the broad test; the readers get many more values.
PARSED_HEADERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Origin": (
        "Tornado's cross_origin_protection (urlsplit, against Host), CORS (cors.py), "
        "session_delivery.is_browser at /login (present or not), http_connection for a "
        "refused message (414, 431, 400)",
        ("POST /logout", "GET /fact?n=500", "OPTIONS /account/edit", "POST /login"),
    ),
    "Sec-Fetch-Site": (
        "Tornado's cross_origin_protection; session_delivery at /login (is_browser, is_cross_site)",
        ("POST /account/edit", "POST /login"),
    ),
    "Sec-Fetch-Mode": (
        "session_delivery.is_browser (present or not), at /login",
        ("POST /account/edit", "POST /login"),
    ),
    "Sec-Fetch-Dest": ("nobody (sent beside Sec-Fetch-Site)", ("POST /account/edit",)),
    "Host": (
        "Tornado's request parsing (host, port) and cross_origin_protection",
        ("GET /fact?n=500", "POST /logout"),
    ),
    "Accept-Encoding": ("envelope.accepts_gzip (codings, q-values)", ("GET /fact?n=500",)),
    "Cookie": (
        "session_cookie.cookie_values (every value of the name) and signed-value decoding",
        ("GET /account/info", "POST /login"),
    ),
    "Authorization": (
        "authorization.bearer_token (the session's credential, and check_trusted_origin)",
        ("GET /account/info", "POST /logout"),
    ),
    "X-Forwarded-For": ("ClientAddressResolver, behind a trusted proxy", ("POST /register",)),
    "X-Real-Ip": ("nobody: Tornado's xheaders is off", ("POST /register",)),
    "X-Request-ID": (
        "request_context.request_id_for; http_connection for a refused message",
        ("GET /no/such/path",),
    ),
    "Content-Type": ("json_body.is_json_media_type", ("POST /register", "POST /account/edit")),
    "Content-Length": (
        "BaseHandler.prepare (413), Tornado's HTTP/1 parser",
        ("GET /fact?n=500", "POST /register"),
    ),
    "Transfer-Encoding": ("Tornado's HTTP/1 parser", ("POST /register",)),
    "Expect": ("Tornado's HTTP/1 parser (100-continue)", ("POST /register",)),
    "Connection": ("Tornado's HTTP/1 parser (keep-alive)", ("GET /healthz",)),
    "Access-Control-Request-Method": (
        "cors.CorsPolicy.preflight_headers (a method token)",
        ("OPTIONS /account/edit",),
    ),
    "Access-Control-Request-Headers": (
        "cors.CorsPolicy.preflight_headers (names against CORS_ALLOWED_HEADERS)",
        ("OPTIONS /account/edit",),
    ),
    "Idempotency-Key": (
        "services.idempotency.parse_key",
        ("POST /register", "POST /account/edit"),
    ),
    "If-None-Match": ("Tornado's check_etag_header, idle: no ETag is computed", ("GET /healthz",)),
    "Referer": ("nobody", ("POST /login",)),
    "Accept-Language": ("nobody: Tornado's get_browser_locale is never called", ("GET /healthz",)),
}
# Headers sent beside a header under test on its readers, so that its value reaches the parser:
# an Origin makes cross_origin_protection compare it with Host, or consult Sec-Fetch-Site.
COMPANIONS: dict[str, tuple[tuple[str, bytes], ...]] = {
    "Host": (("Origin", b"http://localhost:8888"),),
    "Sec-Fetch-Site": (("Origin", b"https://evil.example"),),
    "Sec-Fetch-Mode": (("Sec-Fetch-Site", b"same-origin"),),
    "Sec-Fetch-Dest": (("Sec-Fetch-Site", b"same-origin"),),
}

# A session cookie value in Tornado's signed format, whose signature does not verify.
SIGNED_SHAPE = f"2|1:0|10:1700000000|{len(SESSION_COOKIE)}:{SESSION_COOKIE}|8:dG9rZW4=|{'0f' * 32}"
# A well-formed value of each header, for the mutations below to break.
SEEDS: dict[str, tuple[bytes, ...]] = {
    "Origin": (b"http://[::1]:8888", b"https://app.example"),
    "Sec-Fetch-Site": (b"cross-site", b"same-origin"),
    "Sec-Fetch-Mode": (b"cors",),
    "Sec-Fetch-Dest": (b"empty",),
    "Host": (b"localhost:8888", b"[::1]:8888"),
    "Accept-Encoding": (b"gzip;q=0.5, br;q=1.0, *;q=0", b"x-gzip"),
    "Cookie": (
        f"{SESSION_COOKIE}={SIGNED_SHAPE}".encode(),
        f'a=b; {SESSION_COOKIE}="x"; {SESSION_COOKIE}=y'.encode(),
    ),
    "Authorization": (b"Bearer " + b"A" * 43, b"Basic dXNlcjpwYXNz"),
    "X-Forwarded-For": (b"203.0.113.7, [2001:db8::1]:443, 127.0.0.1",),
    "X-Real-Ip": (b"203.0.113.7",),
    "X-Request-ID": (b"client-req-0001",),
    "Content-Type": (b"application/json; charset=utf-8", b'application/json; charset="UTF-8"'),
    "Content-Length": (b"4",),
    "Transfer-Encoding": (b"chunked", b"gzip, chunked"),
    "Expect": (b"100-continue",),
    "Connection": (b"keep-alive, Upgrade",),
    "Access-Control-Request-Method": (b"POST",),
    "Access-Control-Request-Headers": (b"content-type, x-request-id",),
    "Idempotency-Key": (b'"0123456789abcdef0123"', b"0123456789abcdef0123"),
    "If-None-Match": (b'W/"abc", "def"', b"*"),
    "Referer": (b"https://app.example/page?x=%41#top",),
    "Accept-Language": (b"en-US,en;q=0.9,fr;q=0.8",),
}
# Pieces that parsers choke on: brackets, quotes, escapes, separators, controls, non-ASCII.
FRAGMENTS = (
    b"[",
    b"]",
    b"[::1",
    b"::1]",
    b"fe80::1%eth0",
    b":",
    b"%",
    b"%zz",
    b"%00",
    b"%ff",
    b",",
    b";",
    b"=",
    b'"',
    b"'",
    b"\\",
    b"|",
    b"q=nan",
    b"q=1e999",
    b"http://",
    b" ",
    b"\t",
    b"\x00",
    b"\x01",
    b"\x7f",
    b"\r",
    b"\n",
    b"\xb2",
    b"\xff",
    "é".encode(),
    b"\xd9\xa1",  # ARABIC-INDIC DIGIT ONE in UTF-8
    b"\xf0\x9f\x92\xa5",
)
PAIRED = b"[]()<>\"'"
# Python's int() refuses a decimal string of more digits than this (ValueError).
INT_MAX_STR_DIGITS = 4300
# Latin-1 characters that str.isdigit() takes for digits.
DIGIT_LOOKALIKES = "¹²³".encode("latin-1")


# Deterministic and bounded for CI: a fixed seed, no database of past failures, no shrinking
# (each example is dozens of requests; the failure message names the value and requests).
BOUNDED = hypothesis.settings(
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    body: bytes = b""
    envelope: bool = True  # answers in the JSON envelope (not /metrics' text, nor the document)


def targets(username: str) -> list[Target]:
    """Every method of every route in routes.ROUTES (HEAD beside GET), OPTIONS on each path,
    and an unknown path; the calls that end a session come last."""
    bodies = {
        "/register": {"username": username, "password": PASSWORD},
        "/login": {"username": username, "password": PASSWORD},
        "/account/edit": {"nickname": "hostile"},
    }
    found: list[Target] = []
    for route in ROUTES:
        # Big enough an answer to be gzip-compressed when Accept-Encoding allows it.
        path = "/fact?n=500" if route.path == "/fact" else route.path
        for operation in route.operations:
            # /metrics' text, the link pages' files and the document itself are no envelope.
            envelope = operation.media_type == "application/json" and route.path != "/openapi.json"
            method = operation.method.upper()
            body = orjson.dumps(bodies.get(route.path, {})) + b"\r\n" if method == "POST" else b""
            found.append(Target(method, path, body, envelope))
            if method == "GET":
                found.append(Target("HEAD", path, envelope=envelope))
        found.append(Target("OPTIONS", path))
    found += [Target("GET", "/no/such/path"), Target("POST", "/no/such/path", b"{}\r\n")]
    last = ("/login", "/logout")
    return sorted(found, key=lambda target: target.path in last)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes


def request_bytes(target: Target, headers: list[tuple[str, bytes]]) -> bytes:
    lines = [f"{target.method} {target.path} HTTP/1.1".encode()]
    lines += [name.encode() + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + target.body


async def exchange(port: int, request: bytes) -> Answer:
    """Send `request` on a new connection and read the final answer (1xx skipped)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        async with asyncio.timeout(EXCHANGE_SECONDS):
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return Answer(None, {}, b"")
                status_line, *lines = head.decode("latin-1").split("\r\n")
                status = int(status_line.split(" ", 2)[1])
                if status >= 200:
                    break
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            if request.startswith(b"HEAD ") or status in {204, 304}:
                return Answer(status, headers, b"")
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:
                body = await reader.read()
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            return Answer(status, headers, body)
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # the server may reset a connection it refused
            await writer.wait_closed()


def is_envelope(body: bytes) -> bool:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(document, dict)
        and isinstance(document.get("code"), int)
        and isinstance(document.get("message"), str)
    )


def unclean(answer: Answer, target: Target) -> str | None:
    """Why `answer` is not a clean one for `target`, or None."""
    if answer.status is None:
        return "no answer"
    if answer.status >= 500:
        return f"status {answer.status}"
    if target.method == "HEAD" or answer.status == 204:
        return None
    if (answer.status >= 400 or target.envelope) and not is_envelope(answer.body):
        return f"status {answer.status} without an envelope: {answer.body[:200]!r}"
    return None


def log_problems(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{record.levelname} {record.name}: {record.getMessage()[:300]}"
        for record in records
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in record.getMessage()
    ]


def waits_for_more_body(request: bytes, limit: int) -> bool:
    """Whether the server would wait for body bytes that were never sent, reading `request`
    as Tornado's HTTP/1 parser does: a Content-Length over the bytes after the head (up to
    `limit`, above which the handler answers 413 at once), or a chunked body with no whole
    chunk-size line. A LF in a value can bring either in as a header of its own. Such a
    request is well formed and slow, not malformed: it gets no answer before the body timeout.
    """
    end = re.search(rb"\r?\n\r?\n", request)
    if end is None:
        return False  # the head itself is never whole: a 431, or a wait the same as any
    head = request[: end.start()].decode("latin-1").lstrip("\r\n")
    body = request[end.end() :]
    try:
        headers = HTTPHeaders.parse(head[head.find("\n") :])
    except HTTPInputError:
        return False  # refused with 400
    if "Content-Length" in headers:
        pieces = set(re.split(r",[ \t]*", headers["Content-Length"]))
        declared = pieces.pop()
        if pieces or not re.fullmatch(r"[0-9]{1,12}", declared):
            return False  # refused with 400 (or 413 for too many digits)
        return len(body) < int(declared) <= limit and "Transfer-Encoding" not in headers
    chunked = headers.get("Transfer-Encoding", "").lower() == "chunked"
    return chunked and b"\n" not in body


def mutations(draw: st.DrawFn, value: bytes) -> bytes:
    """`value` broken one way: cut short, a character dropped, a fragment put in or in place
    of one, a bracket or quote left unpaired, a number made too long for int() (or one added
    at the end), every digit written in other digits, the value listed many times."""
    kind = draw(
        st.sampled_from(
            ["cut", "drop", "insert", "replace", "unpair", "long numbers", "other digits", "list"]
        )
    )
    at = draw(st.integers(0, len(value)))
    if kind == "cut":
        return value[:at]
    if kind == "drop":
        return value[:at] + value[at + 1 :]
    if kind in {"insert", "replace"}:
        fragment = draw(st.sampled_from(FRAGMENTS)) * draw(st.sampled_from([1, 1, 2, 500]))
        return value[:at] + fragment + value[at + (kind == "replace") :]
    if kind == "unpair":
        paired = [i for i, byte in enumerate(value) if byte in PAIRED]
        if paired:
            i = draw(st.sampled_from(paired))
            return value[:i] + value[i + 1 :]
        return value[:at] + bytes([draw(st.sampled_from(PAIRED))]) + value[at:]
    if kind == "long numbers":
        runs = [run.span() for run in re.finditer(rb"[0-9]+", value)] or [(len(value),) * 2]
        start, end = draw(st.sampled_from(runs))
        digit = value[start : start + 1] if end > start else b"9"
        digits = digit * (INT_MAX_STR_DIGITS + draw(st.integers(1, 1000)))
        return value[:start] + digits + value[end:]
    if kind == "other digits":
        return bytes(DIGIT_LOOKALIKES[b % 3] if 0x30 <= b <= 0x39 else b for b in value)
    return b",".join([value] * draw(st.sampled_from([2, 3, 1000])))


@st.composite
def hostile_values(draw: st.DrawFn, name: str) -> bytes:
    """Mostly a seed of `name` broken once or twice; else random bytes, random latin-1
    text, a fragment repeated thousands of times, or nothing."""
    shape = draw(st.sampled_from(["mutated"] * 6 + ["bytes", "latin-1", "long", "empty"]))
    if shape == "mutated":
        value = draw(st.sampled_from(SEEDS[name]))
        for _ in range(draw(st.sampled_from([1, 1, 2]))):
            value = mutations(draw, value)
        return value
    if shape == "bytes":
        return draw(st.binary(max_size=40))
    if shape == "latin-1":
        return draw(st.text(st.characters(codec="latin-1"), max_size=40)).encode("latin-1")
    if shape == "long":
        return draw(st.sampled_from(FRAGMENTS)) * draw(st.integers(100, 9000))
    return b""


@st.composite
def hostile_headers(draw: st.DrawFn) -> tuple[str, bytes, int, str]:
    """A header, a malformed value, how many times it is sent, and a companion header set."""
    name = draw(st.sampled_from(sorted(PARSED_HEADERS)))
    value = draw(hostile_values(name))
    repeat = draw(st.sampled_from([1, 1, 1, 2]))
    companion = draw(st.sampled_from(["none", "cross-site", "trusted origin", "bearer"]))
    return name, value, repeat, companion


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    """Listed CORS origins and a trusted loopback proxy: the CORS and X-Forwarded-For parsers
    run only then."""
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    return app_factory(with_settings(settings, cors_origins=(TRUSTED,), trusted_proxies=loopback))


@pytest.fixture
def api(http_server: object, http_client: AsyncHTTPClient, base_url: str, io_loop: IOLoop) -> Api:
    """A client of the app with a registered account, USERNAME."""
    api = Api(http_client, base_url)
    io_loop.run_sync(lambda: api.register(USERNAME))
    return api


@pytest.fixture
def quiet_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def base_headers(target: Target) -> list[tuple[str, bytes]]:
    """What a plain client sends, no credential."""
    headers = [("Host", b"localhost"), ("Connection", b"close")]
    if target.body:
        headers += [
            ("Content-Type", b"application/json"),
            ("Content-Length", str(len(target.body)).encode()),
        ]
    if target.method == "OPTIONS":
        headers += [("Origin", TRUSTED.encode()), ("Access-Control-Request-Method", b"POST")]
    return headers


def with_header(
    headers: list[tuple[str, bytes]], name: str, value: bytes, repeat: int = 1
) -> list[tuple[str, bytes]]:
    """`headers` with `name: value` (sent `repeat` times) in place of any `name` of theirs."""
    kept = [(header, original) for header, original in headers if header.lower() != name.lower()]
    return kept + [(name, value)] * repeat


async def clean_or_why(port: int, target: Target, headers: list[tuple[str, bytes]]) -> str | None:
    request = request_bytes(target, headers)
    why = unclean(await exchange(port, request), target)
    return (
        None if why is None else f"{target.method} {target.path}: {why}\n  sent {request[:300]!r}"
    )


def check_clean(
    name: str, value: bytes, problems: list[str], log: pytest.LogCaptureFixture, note: str = ""
) -> None:
    # An abandoned future logs its error when collected; the young generations hold it.
    gc.collect(1)
    problems = problems + log_problems(log.records)
    assert not problems, f"{name}: {value[:120]!r}{note}\n" + "\n".join(problems)


def reader_targets(name: str) -> list[Target]:
    by_request = {f"{target.method} {target.path}": target for target in targets(USERNAME)}
    return [by_request[request] for request in PARSED_HEADERS[name][1]]


@pytest.mark.parametrize("name", sorted(PARSED_HEADERS))
def test_a_malformed_value_gets_a_clean_answer_where_its_header_is_parsed(
    name: str,
    http_server: object,
    base_url: str,
    io_loop: IOLoop,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    port = port_of(base_url)
    limit = settings.http_max_body_bytes
    targets_of_name = reader_targets(name)

    @hypothesis.settings(BOUNDED, max_examples=150)
    @given(value=hostile_values(name))
    def one_value(value: bytes) -> None:
        caplog.clear()
        problems = []
        for target in targets_of_name:
            headers = with_header(
                base_headers(target) + list(COMPANIONS.get(name, ())), name, value
            )
            if waits_for_more_body(request_bytes(target, headers), limit):
                continue
            why = io_loop.run_sync(lambda: clean_or_why(port, target, headers))  # noqa: B023
            problems += [why] if why else []
        check_clean(name, value, problems, caplog)

    one_value()


async def send_everywhere(
    api: Api, port: int, limit: int, case: tuple[str, bytes, int, str]
) -> list[str]:
    """One fresh session, then every target with `name: value` in place of its own `name`;
    the problems found. `limit` is the body limit (waits_for_more_body)."""
    name, value, repeat, companion = case
    login = await api.login(USERNAME)
    cookie = "; ".join(f"{key}={morsel}" for key, morsel in api.cookies.items())
    companions = {
        "none": [],
        "cross-site": [("Sec-Fetch-Site", b"cross-site")],
        "trusted origin": [("Origin", TRUSTED.encode())],
        "bearer": [("Authorization", f"Bearer {login.body['token']}".encode())],
    }[companion]
    problems = []
    for target in targets(USERNAME):
        headers = [*base_headers(target), ("Cookie", cookie.encode()), *companions]
        headers = with_header(headers, name, value, repeat)
        if waits_for_more_body(request_bytes(target, headers), limit):
            continue
        why = await clean_or_why(port, target, headers)
        problems += [why] if why else []
    return problems


@hypothesis.settings(BOUNDED, max_examples=50)
@given(case=hostile_headers())
def test_a_malformed_header_value_gets_a_clean_answer_on_every_route(
    case: tuple[str, bytes, int, str],
    api: Api,
    base_url: str,
    io_loop: IOLoop,
    settings: Settings,
    quiet_log: pytest.LogCaptureFixture,
) -> None:
    name, value, repeat, companion = case
    quiet_log.clear()
    limit = settings.http_max_body_bytes
    problems = io_loop.run_sync(lambda: send_everywhere(api, port_of(base_url), limit, case))
    check_clean(name, value, problems, quiet_log, f" (x{repeat}, {companion})")


def send_one(
    base_url: str, io_loop: IOLoop, target: Target, name: str, value: bytes
) -> tuple[Answer, dict[str, object]]:
    headers = with_header(base_headers(target), name, value)
    answer = io_loop.run_sync(lambda: exchange(port_of(base_url), request_bytes(target, headers)))
    return answer, orjson.loads(answer.body)


@pytest.mark.parametrize(
    "origin", [b"http://[::1", b"http://[", b"https://::1]:8888", b"http://a]b"]
)
@pytest.mark.parametrize("path", ["/logout", "/register", "/no/such/path"])
def test_an_origin_no_url_parser_takes_is_refused_as_cross_origin(
    origin: bytes,
    path: str,
    http_server: object,
    base_url: str,
    io_loop: IOLoop,
    quiet_log: pytest.LogCaptureFixture,
) -> None:
    answer, body = send_one(base_url, io_loop, Target("POST", path, b"{}"), "Origin", origin)
    assert (answer.status, body["code"]) == (403, 5)
    check_clean("Origin", origin, [], quiet_log)


def test_a_host_port_of_thousands_of_digits_is_a_malformed_request(
    http_server: object, base_url: str, io_loop: IOLoop, quiet_log: pytest.LogCaptureFixture
) -> None:
    host = b"localhost:" + b"8" * (INT_MAX_STR_DIGITS + 1)
    answer, body = send_one(base_url, io_loop, Target("GET", "/fact?n=5"), "Host", host)
    assert (answer.status, body["code"]) == (400, 3)
    check_clean("Host", host, [], quiet_log)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_content_length_of_thousands_of_digits_is_too_large(
    method: str,
    http_server: object,
    base_url: str,
    io_loop: IOLoop,
    quiet_log: pytest.LogCaptureFixture,
) -> None:
    length = b"1" * (INT_MAX_STR_DIGITS + 1)
    target = Target(method, "/register", b"{}")
    answer, body = send_one(base_url, io_loop, target, "Content-Length", length)
    assert (answer.status, body["code"]) == (413, 3)
    check_clean("Content-Length", length, [], quiet_log)


@pytest.mark.parametrize("length", [b"\xb2", b"\xb9", b"1\xb3", b"\xd9\xa1", b"+2", b"0x2"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_content_length_not_in_ascii_digits_is_a_malformed_request(
    length: bytes,
    method: str,
    http_server: object,
    base_url: str,
    io_loop: IOLoop,
    quiet_log: pytest.LogCaptureFixture,
) -> None:
    target = Target(method, "/register", b"{}")
    answer, body = send_one(base_url, io_loop, target, "Content-Length", length)
    assert (answer.status, body["code"]) == (400, 3)
    check_clean("Content-Length", length, [], quiet_log)


@pytest.mark.parametrize("blank", [b" ", b"\t", b" \t"])
def test_a_head_over_the_limit_ending_in_a_request_id_of_blanks_gets_its_431_at_once(
    blank: bytes,
    http_server: object,
    base_url: str,
    io_loop: IOLoop,
    settings: Settings,
    quiet_log: pytest.LogCaptureFixture,
) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Request-ID:"
    request += blank * (settings.http_max_header_bytes // len(blank) + 100)
    started = io_loop.time()
    answer = io_loop.run_sync(lambda: exchange(port_of(base_url), request))
    assert io_loop.time() - started < 2.0
    assert (answer.status, orjson.loads(answer.body)["code"]) == (431, 3)
    check_clean("X-Request-ID", blank, [], quiet_log)
