"""GET /fact over real sockets, with a real redis-server behind the cache."""

from __future__ import annotations

import gzip
import hashlib
import math
import sys
from typing import Any

import orjson
import pytest
import redis as redis_sync
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.app import open_services
from factsvc.config import Settings
from factsvc.storage.redis_cache import KEY_PREFIX
from tests.support.cache_writes import written_back

pytestmark = pytest.mark.gen_test


async def fetch(client: AsyncHTTPClient, url: str, **kwargs: Any) -> HTTPResponse:
    return await client.fetch(url, raise_error=False, **kwargs)


def envelope(response: HTTPResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = orjson.loads(response.body)
    assert isinstance(body, dict)
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str)
    return body


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "1"), (1, "1"), (5, "120"), (20, "2432902008176640000"), (25, str(math.factorial(25)))],
)
async def test_fact_returns_the_exact_factorial_as_a_string(
    http_client: AsyncHTTPClient, base_url: str, n: int, expected: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?n={n}")
    assert response.code == 200
    assert envelope(response) == {
        "code": 0,
        "message": "",
        "n": n,
        "fact": expected,
        "digits": len(expected),
        "cached": False,
    }


async def test_a_large_factorial_matches_an_independent_computation(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    n = 30_000
    response = await fetch(http_client, f"{base_url}/fact?n={n}")
    body = envelope(response)
    previous_limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert int(body["fact"]) == math.factorial(n)
    finally:
        sys.set_int_max_str_digits(previous_limit)
    assert body["digits"] == len(body["fact"]) == 121_288


@pytest.mark.parametrize(
    "query",
    [
        "",
        "m=5",
        "n=",
        "n=5&n=5",
        "n=1.5",
        "n=-1",
        "n=%2B7",
        "n=%205",
        "n=5%20",
        "n=1_0",
        "n=%D9%A3",
        "n=1e3",
        "n=0x10",
        "n=100001",
        "n=" + "9" * 5000,
        "n=%FF",
        "n=%00",
    ],
)
async def test_bad_n_is_refused_with_a_field_error(
    http_client: AsyncHTTPClient, base_url: str, redis_direct: redis_sync.Redis, query: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?{query}")
    assert response.code == 400
    body = envelope(response)
    assert body["code"] == 3
    assert set(body["errors"]) == {"n"}
    assert redis_direct.keys("*") == [], "no work may be done for a refused request"


async def test_a_value_is_computed_once_then_served_from_cache(
    http_client: AsyncHTTPClient, base_url: str, redis_direct: redis_sync.Redis
) -> None:
    first = envelope(await fetch(http_client, f"{base_url}/fact?n=7"))
    second = envelope(await fetch(http_client, f"{base_url}/fact?n=7"))
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["fact"] == second["fact"] == "5040"


async def test_leading_zeros_name_the_same_key(
    http_client: AsyncHTTPClient, base_url: str, redis_direct: redis_sync.Redis
) -> None:
    envelope(await fetch(http_client, f"{base_url}/fact?n=12"))
    padded = envelope(await fetch(http_client, f"{base_url}/fact?n=0012"))
    assert padded["n"] == 12
    assert padded["cached"] is True
    assert [key.decode() for key in await written_back(redis_direct, KEY_PREFIX + "*")] == [
        KEY_PREFIX + "12"
    ]


async def test_every_cache_key_has_a_ttl(
    http_client: AsyncHTTPClient,
    base_url: str,
    redis_direct: redis_sync.Redis,
    settings: Settings,
) -> None:
    for n in (3, 9000):
        envelope(await fetch(http_client, f"{base_url}/fact?n={n}"))
    keys = await written_back(redis_direct, KEY_PREFIX + "*", 2)
    assert len(keys) == 2
    for key in keys:
        assert 0 < redis_direct.ttl(key) <= settings.fact_cache_ttl


async def test_a_new_process_finds_the_value_in_redis(
    http_client: AsyncHTTPClient, base_url: str, settings: Settings
) -> None:
    envelope(await fetch(http_client, f"{base_url}/fact?n=321"))
    async with open_services(settings) as other_process:
        result = await other_process.factorials.factorial(321)
    assert result.cached is True
    assert result.decimal == str(math.factorial(321))


def with_checksum(decimal: str) -> bytes:
    payload = decimal.encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest().encode() + b":" + payload


@pytest.mark.parametrize(
    "stored",
    [
        # the original service's (n-1)! mistake, stored intact
        with_checksum(str(math.factorial(29))),
        # one digit damaged after it was stored: 30! = ...848 followed by 7 zeros
        with_checksum(str(math.factorial(30)))[:-8] + b"1" + b"0" * 7,
        # no checksum at all
        str(math.factorial(30)).encode(),
    ],
)
async def test_a_bad_cached_value_is_recomputed_not_served(
    http_client: AsyncHTTPClient, base_url: str, redis_direct: redis_sync.Redis, stored: bytes
) -> None:
    redis_direct.set(KEY_PREFIX + "30", stored, ex=60)
    body = envelope(await fetch(http_client, f"{base_url}/fact?n=30"))
    assert body["fact"] == str(math.factorial(30))
    assert body["cached"] is False


async def test_a_good_cached_value_is_served(
    http_client: AsyncHTTPClient, base_url: str, redis_direct: redis_sync.Redis
) -> None:
    redis_direct.set(KEY_PREFIX + "30", with_checksum(str(math.factorial(30))), ex=60)
    body = envelope(await fetch(http_client, f"{base_url}/fact?n=30"))
    assert body["fact"] == str(math.factorial(30))
    assert body["cached"] is True


@pytest.mark.parametrize(
    ("n", "digits"),
    [(1000, 2568), (20000, 77_338)],  # compressed on the loop, and in a thread
)
async def test_bodies_of_a_kilobyte_and_more_are_gzipped_for_clients_that_accept_it(
    http_client: AsyncHTTPClient, base_url: str, n: int, digits: int
) -> None:
    response = await fetch(
        http_client,
        f"{base_url}/fact?n={n}",
        headers={"Accept-Encoding": "gzip"},
        decompress_response=False,
    )
    assert response.code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = orjson.loads(gzip.decompress(response.body))
    assert len(response.body) < len(body["fact"])
    plain = await fetch(http_client, f"{base_url}/fact?n={n}", decompress_response=False)
    assert "Content-Encoding" not in plain.headers
    assert body["fact"] == envelope(plain)["fact"]
    assert body["digits"] == digits


async def test_small_bodies_are_sent_uncompressed(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await fetch(
        http_client,
        f"{base_url}/fact?n=10",
        headers={"Accept-Encoding": "gzip"},
        decompress_response=False,
    )
    assert "Content-Encoding" not in response.headers
    # With no CORS origins listed, nothing in the request chose this answer's form.
    assert "Vary" not in response.headers
    assert envelope(response)["fact"] == "3628800"


async def test_unknown_paths_get_the_404_envelope(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    for method, payload in (("GET", None), ("POST", b"{}"), ("DELETE", None)):
        response = await fetch(http_client, f"{base_url}/no/such/path", method=method, body=payload)
        assert response.code == 404
        body = envelope(response)
        assert body == {"code": 7, "message": "not found", "request_id": body["request_id"]}


async def test_wrong_methods_get_the_405_envelope_with_allow(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?n=1", method="POST", body=b"{}")
    assert response.code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    body = envelope(response)
    assert body == {"code": 5, "message": "method not allowed", "request_id": body["request_id"]}


async def test_responses_name_no_server_version_and_forbid_sniffing(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?n=1")
    assert "Server" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
