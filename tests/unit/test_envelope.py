"""The success envelope, and when and how bodies are gzip-compressed."""

from __future__ import annotations

import gzip
import threading

import orjson
import pytest

from factsvc.handlers import envelope
from factsvc.handlers.envelope import (
    OFFLOOP_GZIP_MIN_BYTES,
    accepts_gzip,
    envelope_bytes,
    gzip_compressed,
)


def test_the_envelope_puts_code_and_message_first_then_the_payload() -> None:
    body = envelope_bytes({"n": 5, "fact": "120"})
    assert body == b'{"code":0,"message":"","n":5,"fact":"120"}'
    assert orjson.loads(envelope_bytes({})) == {"code": 0, "message": ""}


@pytest.mark.parametrize(
    "accept_encoding",
    ["gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"],
)
def test_a_client_listing_gzip_gets_it(accept_encoding: str) -> None:
    assert accepts_gzip(accept_encoding)


@pytest.mark.parametrize("accept_encoding", [None, "", "identity", "deflate, br"])
def test_without_gzip_the_body_goes_as_is(
    accept_encoding: str | None,
) -> None:
    assert not accepts_gzip(accept_encoding)


@pytest.mark.gen_test
async def test_small_bodies_are_compressed_on_the_loop_large_ones_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    real_gzip = envelope._gzip

    def recording_gzip(body: bytes) -> bytes:
        threads.append(threading.get_ident())
        return real_gzip(body)

    monkeypatch.setattr(envelope, "_gzip", recording_gzip)
    loop_thread = threading.get_ident()
    small = b"1" * (OFFLOOP_GZIP_MIN_BYTES - 1)
    large = b"2" * OFFLOOP_GZIP_MIN_BYTES
    assert gzip.decompress(await gzip_compressed(small)) == small
    assert gzip.decompress(await gzip_compressed(large)) == large
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread


# RFC 9110 §12.5.3: q=0 means "not acceptable"; codings are case-insensitive tokens; `*` covers
# every coding not listed (identity too); the higher weight wins.
REFUSING_GZIP = [
    "gzip;q=0",
    "gzip; q=0",
    "gzip ;q=0.0",
    "gzip;q=0.000",
    "GZIP;Q=0",
    "x-gzip;q=0",
    "gzip;q=0, deflate",
    "br, gzip;q=0",
    "*;q=0",
    "*;q=0, identity",
    "br, *;q=0",
    "gzip;q=0, *",
    "gzip;q=0.5, identity",
    "gzip;q=0.2, *;q=0.5",
    "identity;q=0",
    "identity;q=0, br",
    "",
    " , ,",
    "gzipx",
    "compress",
    "gzip;q=abc",
    "gzip;q=1.5",
    "gzip;q=0.1234",
    "gzip;q=",
    'gzip;q="1"',
    "gz ip",
]
ACCEPTING_GZIP = [
    "GZIP",
    "Gzip",
    "x-gzip",
    "X-GZIP",
    "gzip;q=1",
    "gzip;q=1.000",
    "gzip;q=0.001",
    "gzip ; q = 0.5",
    "*",
    "*;q=0.5",
    "identity;q=0, gzip",
    "gzip;q=0.5, identity;q=0.4",
    "gzip;q=0.5, identity;q=0.5",
    "gzip;level=9",
    ",gzip,",
    "deflate, gzip;q=0.1",
]


@pytest.mark.parametrize("accept_encoding", REFUSING_GZIP)
def test_gzip_refused_or_not_preferred_gets_identity(accept_encoding: str) -> None:
    assert not accepts_gzip(accept_encoding)


@pytest.mark.parametrize("accept_encoding", ACCEPTING_GZIP)
def test_gzip_acceptable_and_preferred_gets_gzip(accept_encoding: str) -> None:
    assert accepts_gzip(accept_encoding)


@pytest.mark.parametrize("weight", ["0", "0.", "0.0", "0.00", "0.000"])
@pytest.mark.parametrize("name", ["gzip", "GZip", "x-gzip", "*"])
@pytest.mark.parametrize("others", ["", "br, ", "deflate;q=1, ", "identity;q=0.5, "])
def test_any_spelling_of_a_zero_weight_refuses_gzip(weight: str, name: str, others: str) -> None:
    for space in ("", " "):
        assert not accepts_gzip(f"{others}{name}{space};{space}q={weight}")
        assert not accepts_gzip(f"{name};Q={weight}, {others}".rstrip(", "))
