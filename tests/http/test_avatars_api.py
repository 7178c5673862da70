"""The avatar API over real sockets, against the test Redis and MongoDB-compatible server:
uploads (cookie and bearer clients), refusals, the spool directory, serving and caching."""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
import tornado.web
from PIL import Image
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.config import Settings
from factsvc.handlers.upload_spool import Spool
from tests.support import images
from tests.support.api import Api, Reply
from tests.support.polling import eventually_async
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

MAX_BYTES = 2 << 20
UPLOADS = 6


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    return app_factory(with_settings(settings, avatar_uploads_max=UPLOADS))


@pytest.fixture
def spool(settings: Settings) -> Path:
    return settings.path_upload


def listed(spool: Path) -> list[str]:
    return os.listdir(spool)


# How long the spool may take to empty, or to start filling: seconds beyond what a loaded
# machine needs, so that only a file that stays (or never comes) fails a test.
SPOOL_WAIT_SECONDS = 10.0


async def spool_files(spool: Path) -> list[str]:
    """The spool directory's files, once its removals are done (each within a turn or two of
    the loop after the answer; a client that hung up is seen a moment later); AssertionError
    naming those left after SPOOL_WAIT_SECONDS."""
    return await eventually_async(
        lambda: listed(spool),
        SPOOL_WAIT_SECONDS,
        "the spool directory empties",
        pause=0.02,
        accept=lambda files: not files,
    )


async def logged_in(api: Api, session: str = "token") -> str | None:
    """A new user logged in; its bearer token, or None for a cookie client."""
    assert (await api.register()).status == 201
    login = await api.login(session=session)
    assert login.status == 200
    token: str | None = login.body.get("token")
    return token


async def upload(
    api: Api, data: bytes, token: str | None, content_type: str = "image/png", **headers: str
) -> Reply:
    return await api.request(
        "PUT", "/account/avatar", raw=data, token=token, content_type=content_type, headers=headers
    )


async def fetch(
    http_client: AsyncHTTPClient, base_url: str, path: str, **kwargs: object
) -> HTTPResponse:
    return await http_client.fetch(base_url + path, raise_error=False, **kwargs)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("maker", "content_type"),
    [(images.png, "image/png"), (images.jpeg, "image/jpeg"), (images.webp, "image/webp")],
)
async def test_an_image_becomes_a_256_pixel_webp_served_to_anyone(
    api: Api,
    http_client: AsyncHTTPClient,
    base_url: str,
    spool: Path,
    maker: Callable[[], bytes],
    content_type: str,
) -> None:
    token = await logged_in(api)
    reply = await upload(api, maker(), token, content_type)
    assert reply.status == 200, reply.body
    url = reply.body["user"]["avatar_url"]
    assert url.startswith("/avatars/")
    assert reply.headers["Cache-Control"] == "no-store"
    served = await fetch(http_client, base_url, url)
    assert served.code == 200
    assert served.headers["Content-Type"] == "image/webp"
    assert served.headers["ETag"] == f'"{url.removeprefix("/avatars/")}"'
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == (
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    assert served.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    image = decoded(served.body)
    assert (image.format, image.size) == ("WEBP", (256, 256))
    head = await fetch(http_client, base_url, url, method="HEAD")
    assert head.code == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(served.body))
    assert await spool_files(spool) == []


async def test_the_avatar_url_is_in_every_answer_with_the_user(api: Api) -> None:
    token = await logged_in(api)
    assert (await api.get("/account/info", token=token)).body["user"]["avatar_url"] is None
    url = (await upload(api, images.png(), token)).body["user"]["avatar_url"]
    assert (await api.get("/account/info", token=token)).body["user"]["avatar_url"] == url
    assert (await api.get("/isLogined", token=token)).body["user"]["avatar_url"] == url
    relogin = await api.login(session="token")
    assert relogin.body["user"]["avatar_url"] == url


async def test_a_cookie_client_uploads_and_deletes(
    api: Api, http_client: AsyncHTTPClient, base_url: str
) -> None:
    assert await logged_in(api, session="cookie") is None
    reply = await upload(api, images.jpeg(), None, "image/jpeg")
    assert reply.status == 200, reply.body
    url = reply.body["user"]["avatar_url"]
    deleted = await api.request("DELETE", "/account/avatar")
    assert deleted.status == 200
    assert deleted.body["user"]["avatar_url"] is None
    assert (await fetch(http_client, base_url, url)).code == 404
    again = await api.request("DELETE", "/account/avatar")
    assert (again.status, again.body["user"]["avatar_url"]) == (200, None)


async def test_replacing_the_avatar_deletes_the_old_file(
    api: Api, http_client: AsyncHTTPClient, base_url: str
) -> None:
    token = await logged_in(api)
    first = (await upload(api, images.png(), token)).body["user"]["avatar_url"]
    second = (await upload(api, images.webp(), token, "image/webp")).body["user"]["avatar_url"]
    assert first != second
    assert (await fetch(http_client, base_url, first)).code == 404
    assert (await fetch(http_client, base_url, second)).code == 200


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (images.jpeg_with_gps(), "image/jpeg"),
        (images.png_with_gps(), "image/png"),
        (images.polyglot_png(), "image/png"),
    ],
    ids=["jpeg-gps", "png-gps", "polyglot"],
)
async def test_metadata_and_hidden_payloads_never_reach_the_served_file(
    api: Api, http_client: AsyncHTTPClient, base_url: str, data: bytes, content_type: str
) -> None:
    token = await logged_in(api)
    reply = await upload(api, data, token, content_type)
    assert reply.status == 200, reply.body
    served = (await fetch(http_client, base_url, reply.body["user"]["avatar_url"])).body
    assert images.POLYGLOT_PAYLOAD not in served
    assert b"Exif" not in served
    assert b"<" not in served.split(b"VP8")[0]
    assert not decoded(served).getexif()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (images.decompression_bomb_png(), "image/png"),
        (images.truncated(images.noise_png()), "image/png"),
        (images.png(), "image/jpeg"),
        (images.jpeg(), "image/webp"),
        (b"\x00" * 1000, "image/png"),
        (b"", "image/webp"),
    ],
    ids=["bomb", "truncated", "png-as-jpeg", "jpeg-as-webp", "zeros", "empty"],
)
async def test_what_is_not_an_image_of_its_type_is_refused_with_a_reason(
    api: Api, spool: Path, data: bytes, content_type: str
) -> None:
    token = await logged_in(api)
    reply = await upload(api, data, token, content_type)
    assert reply.status == 400, reply.body
    assert reply.code == 3
    assert set(reply.body["errors"]) == {"body"}
    assert (await api.get("/account/info", token=token)).body["user"]["avatar_url"] is None
    assert await spool_files(spool) == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "image/gif", "image/svg+xml", ""]
)
async def test_a_body_not_of_an_accepted_image_type_is_415(
    api: Api, spool: Path, content_type: str
) -> None:
    token = await logged_in(api)
    reply = await upload(api, images.png(), token, content_type)
    assert (reply.status, reply.code) == (415, 3)
    assert await spool_files(spool) == []


async def test_media_type_case_and_parameters_do_not_matter(api: Api) -> None:
    token = await logged_in(api)
    assert (await upload(api, images.png(), token, "IMAGE/PNG; name=x")).status == 200


async def test_an_image_of_exactly_the_limit_is_accepted(api: Api, spool: Path) -> None:
    token = await logged_in(api)
    data = images.noise_png()
    # Bytes after IEND are no part of the image: the thumbnail leaves them out.
    padded = data + bytes(MAX_BYTES - len(data))
    assert (await upload(api, padded, token)).status == 200
    assert await spool_files(spool) == []


async def raw_exchange(base_url: str, head: bytes, body: bytes = b"") -> bytes:
    """Send `head` and `body` on a socket of its own; what the server answers (until it closes
    or a second passes with nothing more)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        received = b""
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                return received
            if not chunk:
                return received
            received += chunk
    finally:
        writer.close()
        await writer.wait_closed()


def put_head(token: str | None, length: int | None, content_type: str = "image/png") -> bytes:
    lines = [
        "PUT /account/avatar HTTP/1.1",
        "Host: localhost",
        f"Content-Type: {content_type}",
        "Content-Length: " + str(length) if length is not None else "Transfer-Encoding: chunked",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_a_declared_length_over_the_limit_is_413_before_any_body(
    api: Api, base_url: str, spool: Path
) -> None:
    token = await logged_in(api)
    answer = await raw_exchange(base_url, put_head(token, MAX_BYTES + 1))
    assert status_of(answer) == 413
    assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == 3
    assert await spool_files(spool) == []


async def test_no_session_is_401_before_any_body(
    http_server: object, base_url: str, spool: Path
) -> None:
    answer = await raw_exchange(base_url, put_head(None, 1000))
    assert status_of(answer) == 401
    assert await spool_files(spool) == []


async def test_an_unaccepted_type_is_415_before_any_body(api: Api, base_url: str) -> None:
    token = await logged_in(api)
    answer = await raw_exchange(base_url, put_head(token, 1000, "text/html"))
    assert status_of(answer) == 415


async def chunks(data: bytes, size: int = 64 << 10) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_streamed_body_is_413_as_soon_as_it_passes_the_limit(
    api: Api, base_url: str, spool: Path
) -> None:
    token = await logged_in(api)
    data = bytes(MAX_BYTES + 1)
    size = 64 << 10
    body = b"".join(
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    )
    answer = await raw_exchange(base_url, put_head(token, None), body + b"0\r\n\r\n")
    assert status_of(answer) == 413
    assert await spool_files(spool) == []


async def test_a_streamed_image_within_the_limit_is_accepted(
    api: Api, http_client: AsyncHTTPClient, base_url: str, spool: Path
) -> None:
    token = await logged_in(api)
    data = images.jpeg((300, 200))

    async def produce(write: Callable[[bytes], object]) -> None:
        async for chunk in chunks(data, 100):
            await write(chunk)  # type: ignore[misc]

    response = await http_client.fetch(
        base_url + "/account/avatar",
        method="PUT",
        body_producer=produce,
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
        raise_error=False,
    )
    assert response.code == 200, response.body
    assert await spool_files(spool) == []


async def test_a_client_gone_mid_upload_leaves_no_spool_file(
    api: Api, base_url: str, spool: Path
) -> None:
    token = await logged_in(api)
    host, port = base_url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(put_head(token, MAX_BYTES) + bytes(300_000))
    await writer.drain()
    await eventually_async(
        lambda: listed(spool), SPOOL_WAIT_SECONDS, "the upload is being spooled", pause=0.01
    )
    writer.close()
    await writer.wait_closed()
    assert await spool_files(spool) == []
    # The service carries on.
    assert (await upload(api, images.png(), token)).status == 200


async def test_a_client_gone_once_its_body_arrived_leaves_no_error_and_no_spool_file(
    api: Api, base_url: str, spool: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = await logged_in(api)
    host, port = base_url.removeprefix("http://").split(":")
    body = images.noise_png((600, 600))  # long enough to decode that the client is gone first
    for _ in range(5):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(put_head(token, len(body)) + body)
        await writer.drain()
        await asyncio.sleep(0.005)
        writer.close()
        await writer.wait_closed()
    # The last one's thumbnail is made and stored: the next upload waits its turn behind it.
    assert (await upload(api, images.png(), token)).status == 200
    assert await spool_files(spool) == []
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("step", ["create", "write", "complete"])
async def test_a_full_disk_is_a_503_to_retry_not_a_reset(
    api: Api, spool: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    token = await logged_in(api)

    async def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Spool, step, no_space)
    refused = await upload(api, images.png(), token)
    assert refused.status == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.body["code"] == 10
    assert await spool_files(spool) == []
    monkeypatch.undo()
    assert (await upload(api, images.png(), token)).status == 200


async def test_an_unchanged_avatar_is_304(
    api: Api, http_client: AsyncHTTPClient, base_url: str
) -> None:
    token = await logged_in(api)
    url = (await upload(api, images.png(), token)).body["user"]["avatar_url"]
    tag = f'"{url.removeprefix("/avatars/")}"'
    for condition in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        answer = await fetch(http_client, base_url, url, headers={"If-None-Match": condition})
        assert answer.code == 304, condition
        assert answer.headers["ETag"] == tag
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.body == b""
    other = await fetch(http_client, base_url, url, headers={"If-None-Match": '"other"'})
    assert other.code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/avatars/" + "0" * 32,
        "/avatars/xyz",
        "/avatars/" + "A" * 32,
        "/avatars/",
        "/avatars/%2e%2e",
    ],
)
async def test_an_unknown_or_malformed_avatar_is_a_json_404(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    answer = await fetch(http_client, base_url, path)
    assert answer.code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert orjson.loads(answer.body)["code"] == 7


async def test_a_cross_origin_upload_with_a_cookie_is_refused(api: Api, spool: Path) -> None:
    await logged_in(api, session="cookie")
    foreign = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = await upload(api, images.png(), None, **foreign)
    assert (refused.status, refused.code) == (403, 5)
    removal = await api.request("DELETE", "/account/avatar", headers=foreign)
    assert removal.status == 403
    assert await spool_files(spool) == []


async def test_a_bearer_client_may_upload_from_another_origin(api: Api) -> None:
    token = await logged_in(api)
    reply = await upload(api, images.png(), token, Origin="https://app.example")
    assert reply.status == 200


async def test_without_a_session_uploads_and_deletions_are_401(api: Api) -> None:
    assert (await upload(api, images.png(), None)).status == 401
    assert (await upload(api, images.png(), "junk")).status == 401
    assert (await api.request("DELETE", "/account/avatar")).status == 401


async def test_uploads_beyond_the_users_limit_are_429(api: Api, spool: Path) -> None:
    token = await logged_in(api)
    for _ in range(UPLOADS):
        assert (await upload(api, images.png(), token)).status == 200
    limited = await upload(api, images.png(), token)
    assert (limited.status, limited.code) == (429, 9)
    assert int(limited.headers["Retry-After"]) > 0
    assert await spool_files(spool) == []


async def test_a_refused_body_changes_nothing_even_once_it_has_arrived(
    api: Api, base_url: str, spool: Path
) -> None:
    """A body answered 413 and then read whole (just over the limit, within what the
    connection reads and drops) is not acted on: no avatar replaced, none deleted."""
    token = await logged_in(api)
    url = (await upload(api, images.png(), token)).body["user"]["avatar_url"]
    over = images.png() + bytes(MAX_BYTES)
    head = put_head(token, None)
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(over), over)
    assert status_of(await raw_exchange(base_url, head, body)) == 413
    delete_head = (
        "DELETE /account/avatar HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    big = bytes(100_000)
    answer = await raw_exchange(base_url, delete_head, b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big))
    assert status_of(answer) == 413
    await asyncio.sleep(0.2)
    assert (await api.get("/account/info", token=token)).body["user"]["avatar_url"] == url
    assert await spool_files(spool) == []
