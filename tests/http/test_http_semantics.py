"""HTTP semantics real clients rely on: HEAD wherever GET is served, Accept-Encoding weights,
WWW-Authenticate on every 401, and envelope answers where Tornado's parser refuses a request."""

from __future__ import annotations

import asyncio
import gzip
import re
from importlib import resources

import orjson
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer

from factsvc.config import Settings
from factsvc.routes import ROUTES
from factsvc.services.avatar_store import AVATAR_ID_BYTES
from tests.support.api import Api

pytestmark = pytest.mark.gen_test(timeout=30)

# A path parameter ({id}) takes an example of its pattern: zeros of an avatar id's length.
EXAMPLES = [re.sub(r"\{\w+\}", "0" * 2 * AVATAR_ID_BYTES, route.path) for route in ROUTES]
assert all(re.fullmatch(route.pattern, path) for route, path in zip(ROUTES, EXAMPLES, strict=True))
GET_ROUTES = [route for route in ROUTES if any(op.method == "get" for op in route.operations)]
GET_PATHS = [path for route, path in zip(ROUTES, EXAMPLES, strict=True) if route in GET_ROUTES]
OTHER_PATHS = [path for path in EXAMPLES if path not in GET_PATHS]
# A query each GET route answers 200 to, when it needs one.
QUERIES = {"/fact": "?n=1000"}
# Headers that differ between any two answers, whatever the method.
PER_ANSWER = {"Date", "X-Request-Id"}


async def fetch(
    http_client: AsyncHTTPClient, url: str, method: str, headers: dict[str, str] | None = None
) -> HTTPResponse:
    return await http_client.fetch(
        url,
        method=method,
        headers=headers,
        raise_error=False,
        decompress_response=False,
        follow_redirects=False,
    )


@pytest.mark.parametrize("accept_encoding", [None, "gzip"])
@pytest.mark.parametrize("path", GET_PATHS)
async def test_head_answers_every_get_route_with_gets_status_and_headers_and_no_body(
    http_client: AsyncHTTPClient, base_url: str, path: str, accept_encoding: str | None
) -> None:
    url = base_url + path + QUERIES.get(path, "")
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    await fetch(http_client, url, "GET", headers)  # so that both find /fact's value cached
    get = await fetch(http_client, url, "GET", headers)
    head = await fetch(http_client, url, "HEAD", headers)
    assert head.code == get.code
    assert head.body == b""
    assert set(head.headers) == set(get.headers)
    for name in set(get.headers) - PER_ANSWER - {"Content-Length"}:
        assert head.headers.get_list(name) == get.headers.get_list(name), name
    if path != "/metrics":  # its counts change with every request
        assert int(head.headers["Content-Length"]) == len(get.body)
    assert int(head.headers["Content-Length"]) > 0


async def test_head_of_healthz_is_200_for_uptime_monitors(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await fetch(http_client, f"{base_url}/healthz", "HEAD")
    assert (response.code, response.body) == (200, b"")
    assert response.headers["Content-Length"] == str(len(b'{"code":0,"message":"","status":"ok"}'))


@pytest.mark.parametrize("path", GET_PATHS)
async def test_allow_lists_head_beside_get(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    response = await fetch(http_client, base_url + path, "DELETE")
    assert response.code == 405
    (route,) = [route for route in GET_ROUTES if re.fullmatch(route.pattern, path)]
    # POST beside GET where a mailed link's page also takes its token.
    posted = ["POST"] if any(op.method == "post" for op in route.operations) else []
    assert response.headers["Allow"].split(", ") == ["GET", "HEAD", *posted, "OPTIONS"]


@pytest.mark.parametrize("path", OTHER_PATHS)
async def test_head_is_not_served_where_get_is_not(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    response = await fetch(http_client, base_url + path, "HEAD")
    assert (response.code, response.body) == (405, b"")
    assert "HEAD" not in response.headers["Allow"]


async def test_head_on_an_unknown_path_is_a_bodiless_404(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await fetch(http_client, f"{base_url}/no/such/path", "HEAD")
    assert (response.code, response.body) == (404, b"")


@pytest.mark.parametrize(
    ("accept_encoding", "encoding"),
    [
        ("gzip;q=0", None),
        ("GZIP;Q=0.0, identity", None),
        ("*;q=0", None),
        ("gzip;q=0.3, identity;q=0.7", None),
        ("identity;q=0", None),  # nothing acceptable: the header is disregarded
        ("gzip", "gzip"),
        ("Gzip;q=0.5", "gzip"),
        ("x-gzip", "gzip"),
        ("br, *", "gzip"),
    ],
)
async def test_accept_encoding_weights_decide_whether_a_body_is_compressed(
    http_client: AsyncHTTPClient, base_url: str, accept_encoding: str, encoding: str | None
) -> None:
    response = await fetch(
        http_client, f"{base_url}/fact?n=1000", "GET", {"Accept-Encoding": accept_encoding}
    )
    assert response.code == 200
    assert response.headers.get("Content-Encoding") == encoding
    body = gzip.decompress(response.body) if encoding else response.body
    assert orjson.loads(body)["digits"] == 2568


async def test_every_401_names_the_bearer_scheme(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    await api.register("walter")
    replies = [
        await api.post("/logout"),
        await api.get("/account/info"),
        await api.get("/account/info", token="not-a-token"),
        await api.post("/account/edit", {"nickname": "W"}),
        await api.post("/login", {"username": "walter", "password": "wrong password!"}),
        await api.post("/login", {"username": "nobody", "password": "wrong password!"}),
    ]
    assert [(reply.status, reply.code) for reply in replies] == [(401, 4)] * 4 + [(401, 1001)] * 2
    for reply in replies:
        assert reply.headers["WWW-Authenticate"] == 'Bearer realm="factsvc"'
    info = await api.get("/isLogined")
    assert "WWW-Authenticate" not in info.headers


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


async def exchange_until_closed(base_url: str, request: bytes) -> bytes:
    """Send `request` and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(base_url))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def one_envelope(reply: bytes, status: int) -> dict[str, object]:
    """The one answer in `reply`: `status`, closing, in the envelope with its request id."""
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), lines[0]
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body), "nothing may follow the answer"
    envelope: dict[str, object] = orjson.loads(body)
    assert envelope["code"] == 3
    assert envelope["request_id"] == headers["x-request-id"]
    # No origin is listed in these tests: no page may read the answer, and it varies on none.
    assert not [name for name in headers if name.startswith("access-control-") or name == "vary"]
    return envelope


def header_lines(total: int) -> bytes:
    return b"".join(b"X-Padding-%d: %s\r\n" % (i, b"p" * 90) for i in range(total // 100 + 1))


async def test_a_request_line_over_the_limit_gets_a_json_414(
    http_server: HTTPServer, base_url: str, settings: Settings
) -> None:
    limit = settings.http_max_header_bytes
    for length in (limit + 1, limit + 1000, 4 * limit):
        target = b"/fact?n=5&" + b"a" * length
        reply = await exchange_until_closed(
            base_url, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target
        )
        assert one_envelope(reply, 414)["message"] == "request-uri too long"


async def test_headers_over_the_limit_get_a_json_431_with_the_clients_request_id(
    http_server: HTTPServer, base_url: str, settings: Settings
) -> None:
    limit = settings.http_max_header_bytes
    for padding in (limit, 2 * limit, 8 * limit):
        request = (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: oversized-head-1\r\n"
            + header_lines(padding)
            + b"\r\n"
        )
        envelope = one_envelope(await exchange_until_closed(base_url, request), 431)
        assert envelope["request_id"] == "oversized-head-1"
    # One long header line, and a request line that fits beside headers that do not.
    for request in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * limit + b"\r\n\r\n",
        b"GET /fact?n=" + b"0" * (limit - 100) + b"5 HTTP/1.1\r\n" + header_lines(200) + b"\r\n",
    ):
        one_envelope(await exchange_until_closed(base_url, request), 431)


async def test_a_head_just_within_the_limit_is_served(
    http_server: HTTPServer, base_url: str, settings: Settings
) -> None:
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
    request = start + b"p" * (settings.http_max_header_bytes - len(start) - 4) + b"\r\n\r\n"
    assert len(request) == settings.http_max_header_bytes
    reply = await exchange_until_closed(base_url, request)
    assert reply.startswith(b"HTTP/1.1 200 ")


# What Tornado's parser refuses itself, each once a bare 400 with no body.
MALFORMED = {
    "request line": b"GARBAGE\r\nHost: x\r\n\r\n",
    "version": b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    "header line": b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "missing Host": b"GET /healthz HTTP/1.1\r\n\r\n",
    "two Hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "Content-Length": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
    "unequal Content-Lengths": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n",
    "Transfer-Encoding": b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "chunk size": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "chunk end": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX",
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_request_tornado_refuses_gets_a_json_400(
    http_server: HTTPServer, base_url: str, request_bytes: bytes
) -> None:
    reply = await exchange_until_closed(base_url, request_bytes)
    assert one_envelope(reply, 400)["message"] == "bad request"


@pytest.mark.parametrize("origin", ["https://app.example", "null"])
async def test_a_refused_request_with_its_own_id_and_an_origin_is_answered_with_that_id(
    http_server: HTTPServer, base_url: str, origin: str
) -> None:
    request = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: refused-req-0001\r\n"
        b"Origin: %s\r\nno colon here\r\n\r\n" % origin.encode()
    )
    assert one_envelope(await exchange_until_closed(base_url, request), 400)["request_id"] == (
        "refused-req-0001"
    )


async def test_an_answered_request_whose_body_is_then_refused_gets_only_its_answer(
    http_server: HTTPServer, base_url: str
) -> None:
    request = (
        b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    reply = await exchange_until_closed(base_url, request)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert reply.count(b"HTTP/1.1") == 1


@pytest.mark.parametrize(
    "refused",
    [
        # 413 from the declared length, before any body
        b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n",
        # 401 and 415 before the upload's body is read
        b"PUT /account/avatar HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        b"Content-Length: 10\r\n\r\n0123456789",
        b"PUT /account/avatar HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10\r\n\r\n0123456789",
        # 403: a cross-origin state change with a cookie
        b"POST /account/edit HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
        b"Cookie: SID=x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    ],
    ids=["413 by length", "401 upload", "415 upload", "403 cross-origin"],
)
async def test_an_answer_sent_before_the_body_was_read_says_the_connection_closes(
    http_server: HTTPServer, base_url: str, refused: bytes
) -> None:
    # Tornado closes such a connection rather than read the rest of the body: a client not
    # told so sends its next request on it and gets a reset (RFC 9112 §9.6).
    reply = await exchange_until_closed(base_url, refused)
    head = reply.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert "\r\nconnection: close" in head
    assert reply.count(b"HTTP/1.1") == 1


async def test_an_error_sent_once_the_body_was_read_keeps_the_connection(
    http_server: HTTPServer, base_url: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(base_url))
    try:
        writer.write(
            b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{]GET /healthz HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n"
        )
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"HTTP/1.1 200 " in reply
    assert b"connection: close" not in reply.partition(b"\r\n\r\n")[0].lower()


def test_the_document_describes_head_beside_every_get_and_the_challenge_on_every_401() -> None:
    document = orjson.loads(resources.files("factsvc").joinpath("openapi.json").read_bytes())
    for path in (route.path for route in GET_ROUTES):
        item = document["paths"][path]
        assert set(item["head"]["responses"]) == set(item["get"]["responses"]), path
        assert "Content-Length" in item["head"]["responses"]["200"]["headers"], path
    unauthorized = [
        operation["responses"]["401"]["$ref"].rsplit("/", 1)[1]
        for item in document["paths"].values()
        for operation in item.values()
        if "401" in operation["responses"]
    ]
    assert set(unauthorized) == {"NotLoggedIn", "BadCredentials"}
    for name in unauthorized:
        headers = document["components"]["responses"][name]["headers"]
        assert headers["WWW-Authenticate"] == {"$ref": "#/components/headers/WwwAuthenticate"}
    challenge = document["components"]["headers"]["WwwAuthenticate"]["schema"]["const"]
    assert challenge == 'Bearer realm="factsvc"'
