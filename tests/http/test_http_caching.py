"""What answers tell caches: /fact fresh for a year with a weak validator and 304 for a client that
holds it (without any lookup), the same Vary on a 304 as on its 200, no-store on every error and
on health, readiness and metrics, and a strong validator per coding for /openapi.json."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import pytest
import redis as redis_sync
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.web import Application

from factsvc.api_schema.caching import IF_NONE_MATCH_REF
from factsvc.app import Services, make_app
from factsvc.config import Settings
from factsvc.handlers.factorial import SMALLEST_COMPRESSED_N
from factsvc.handlers.openapi import representations
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test

FACT_CACHE_CONTROL = "public, max-age=31536000, immutable"
TRUSTED = "https://app.example"
# Headers a 304 carries as its 200 would (RFC 9110 §15.4.5), beside the request's own id.
VALIDATING = ("ETag", "Cache-Control", "Vary")


@pytest.fixture
def app(settings: Settings, services: Services, request: pytest.FixtureRequest) -> Application:
    """The application, with the settings changes a test passes as its parameter."""
    return make_app(with_settings(settings, **getattr(request, "param", {})), services)


async def fetch(
    client: AsyncHTTPClient, url: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> HTTPResponse:
    return await client.fetch(
        url, headers=headers, raise_error=False, decompress_response=False, **kwargs
    )


async def test_a_factorial_is_fresh_for_a_year_with_a_weak_tag_naming_n(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    for method in ("GET", "HEAD"):
        response = await fetch(http_client, f"{base_url}/fact?n=010", method=method)
        assert response.code == 200
        assert response.headers["Cache-Control"] == FACT_CACHE_CONTROL
        assert response.headers["ETag"] == 'W/"v1-10"'


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "if_none_match", ['W/"v1-12"', '"v1-12"', "*", 'W/"v1-11", W/"v1-12"', '"a,b", "v1-12"']
)
async def test_a_client_holding_the_answer_gets_304_without_any_lookup(
    http_client: AsyncHTTPClient,
    base_url: str,
    redis_direct: redis_sync.Redis,
    method: str,
    if_none_match: str,
) -> None:
    request_id = "client-chosen-id-1"
    response = await fetch(
        http_client,
        f"{base_url}/fact?n=12",
        {"If-None-Match": if_none_match, "X-Request-ID": request_id},
        method=method,
    )
    assert response.code == 304
    assert response.body == b""
    assert response.headers["ETag"] == 'W/"v1-12"'
    assert response.headers["Cache-Control"] == FACT_CACHE_CONTROL
    assert response.headers["X-Request-ID"] == request_id
    assert "Content-Type" not in response.headers
    # Nothing was computed, read or stored: the cache server is untouched, and the next
    # answer is a fresh computation.
    assert redis_direct.keys("*") == []
    plain = await fetch(http_client, f"{base_url}/fact?n=12")
    assert json.loads(plain.body)["cached"] is False


@pytest.mark.parametrize(
    "if_none_match",
    ['W/"v1-13"', '"v1-120"', 'w/"v1-12"', 'W/"v1-12" junk', '*, W/"v1-12"', "v1-12", ""],
)
async def test_another_tag_or_a_malformed_field_gets_the_answer(
    http_client: AsyncHTTPClient, base_url: str, if_none_match: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?n=12", {"If-None-Match": if_none_match})
    assert response.code == 200
    assert json.loads(response.body)["fact"] == "479001600"
    assert response.headers["ETag"] == 'W/"v1-12"'


async def test_if_modified_since_is_ignored(http_client: AsyncHTTPClient, base_url: str) -> None:
    response = await fetch(
        http_client,
        f"{base_url}/fact?n=12",
        {"If-Modified-Since": "Sun, 06 Nov 2094 08:49:37 GMT"},
    )
    assert response.code == 200
    assert "Last-Modified" not in response.headers


@pytest.mark.parametrize("query", ["n=-1", "n=100001", "n=5&n=5", ""])
async def test_a_bad_n_is_400_whatever_the_precondition(
    http_client: AsyncHTTPClient, base_url: str, query: str
) -> None:
    response = await fetch(http_client, f"{base_url}/fact?{query}", {"If-None-Match": "*"})
    assert response.code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


@pytest.mark.parametrize("n", [0, SMALLEST_COMPRESSED_N - 1, SMALLEST_COMPRESSED_N, 1000, 20_000])
@pytest.mark.parametrize("accept_encoding", [None, "gzip"])
async def test_a_304_carries_the_vary_and_validators_of_its_200(
    http_client: AsyncHTTPClient, base_url: str, n: int, accept_encoding: str | None
) -> None:
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    url = f"{base_url}/fact?n={n}"
    computed = await fetch(http_client, url, headers)
    cached = await fetch(http_client, url, headers)
    not_modified = await fetch(
        http_client, url, headers | {"If-None-Match": computed.headers["ETag"]}
    )
    assert (computed.code, cached.code, not_modified.code) == (200, 200, 304)
    assert (
        json.loads(
            gzip.decompress(cached.body) if "Content-Encoding" in cached.headers else cached.body
        )["cached"]
        is True
    )
    for name in VALIDATING:
        values = [r.headers.get_list(name) for r in (computed, cached, not_modified)]
        assert values[0] == values[1] == values[2], name
    compressible = n >= SMALLEST_COMPRESSED_N
    assert computed.headers.get("Vary") == ("Accept-Encoding" if compressible else None)
    if accept_encoding:
        assert ("Content-Encoding" in computed.headers) == compressible


@pytest.mark.parametrize("app", [{"cors_origins": (TRUSTED,)}], indirect=True)
@pytest.mark.parametrize("n", [5, 5000])
async def test_a_listed_origin_reads_a_304_with_the_cors_headers_of_its_200(
    app: Application, http_client: AsyncHTTPClient, base_url: str, n: int
) -> None:
    url = f"{base_url}/fact?n={n}"
    browser = {"Origin": TRUSTED}
    first = await fetch(http_client, url, browser)
    again = await fetch(http_client, url, browser | {"If-None-Match": first.headers["ETag"]})
    assert (first.code, again.code) == (200, 304)
    for name in (*VALIDATING, "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"):
        assert first.headers.get_list(name) == again.headers.get_list(name), name
    expected = "Origin, Accept-Encoding" if n >= SMALLEST_COMPRESSED_N else "Origin"
    assert again.headers["Vary"] == expected
    assert again.headers["Access-Control-Allow-Origin"] == TRUSTED


async def test_every_error_answer_is_no_store(
    http_client: AsyncHTTPClient, base_url: str, settings: Settings, services: Services
) -> None:
    answers = [
        await fetch(http_client, f"{base_url}/fact?n=x"),
        await fetch(http_client, f"{base_url}/account/info"),
        await fetch(http_client, f"{base_url}/nowhere"),
        await fetch(http_client, f"{base_url}/fact?n=1", method="POST", body=b"{}"),
        await fetch(
            http_client,
            f"{base_url}/register",
            method="POST",
            body=b" " * (settings.http_max_body_bytes + 1),
        ),
        await fetch(http_client, f"{base_url}/fact?n=1&" + "a" * settings.http_max_header_bytes),
    ]
    services.readiness.mark_stopping()
    answers.append(await fetch(http_client, f"{base_url}/readyz"))
    assert [answer.code for answer in answers] == [400, 401, 404, 405, 413, 414, 503]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.code
        assert "ETag" not in answer.headers


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_health_readiness_and_metrics_are_no_store(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    for method in ("GET", "HEAD"):
        response = await fetch(http_client, base_url + path, method=method)
        assert response.code == 200
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("accept_encoding", [None, "gzip"])
async def test_the_document_is_revalidated_with_a_strong_tag_of_its_coding(
    http_client: AsyncHTTPClient, base_url: str, accept_encoding: str | None
) -> None:
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    url = f"{base_url}/openapi.json"
    response = await fetch(http_client, url, headers)
    assert response.code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Vary"] == "Accept-Encoding"
    identity, compressed = representations()
    assert compressed is not None
    chosen = compressed if accept_encoding else identity
    assert response.headers["ETag"] == chosen.entity_tag
    assert response.body == chosen.body
    assert response.headers.get("Content-Encoding") == chosen.coding
    if chosen is compressed:
        assert gzip.decompress(response.body) == identity.body
    for method in ("GET", "HEAD"):
        again = await fetch(
            http_client, url, headers | {"If-None-Match": chosen.entity_tag}, method=method
        )
        assert (again.code, again.body) == (304, b"")
        for name in VALIDATING:
            assert again.headers.get_list(name) == response.headers.get_list(name), name
    other = compressed if chosen is identity else identity
    changed = await fetch(http_client, url, headers | {"If-None-Match": other.entity_tag})
    assert changed.code == 200


def stated_cache_control(document: dict[str, Any], response: dict[str, Any]) -> str:
    """The Cache-Control value a documented response states (a reference to a header)."""
    name = response["headers"]["Cache-Control"]["$ref"].removeprefix("#/components/headers/")
    value: str = document["components"]["headers"][name]["schema"]["const"]
    return value


@pytest.mark.parametrize("path", ["/fact?n=3", "/healthz", "/readyz", "/metrics", "/openapi.json"])
async def test_the_document_states_the_cache_control_each_answer_carries(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    document = json.loads(representations()[0].body)
    operation = document["paths"][path.partition("?")[0]]["get"]
    answer = await fetch(http_client, base_url + path)
    sent = answer.headers["Cache-Control"]
    assert sent == stated_cache_control(document, operation["responses"]["200"])
    validated = "ETag" in answer.headers
    assert ("304" in operation["responses"]) == validated
    assert (IF_NONE_MATCH_REF in operation.get("parameters", [])) == validated
    if validated:
        assert sent == stated_cache_control(document, operation["responses"]["304"])
        tag = operation["responses"]["200"]["headers"]["ETag"]["$ref"].split("/")[-1]
        pattern = document["components"]["headers"][tag]["schema"]["pattern"]
        assert re.fullmatch(pattern, answer.headers["ETag"])
    error = await fetch(http_client, f"{base_url}/nowhere")
    not_found = document["components"]["responses"]["NotFound"]
    assert error.headers["Cache-Control"] == stated_cache_control(document, not_found)
