"""nginx's proxy cache of /fact answers, in front of two instances: a repeated request is a HIT
with its own X-Request-ID, 304 through nginx, errors never kept, a big factorial kept in both
codings, and concurrent misses for one n computed once; without a cache directory, no cache."""

from __future__ import annotations

import dataclasses
import gzip
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from factsvc.cluster.nginx_config import COMPOSE_SITE, compose_settings, render
from factsvc.cluster.topology import Cluster
from tests.nginx.conftest import log_lines, nginx_access_log
from tests.nginx.loopback_client import Answer, call

pytestmark = pytest.mark.timeout(90)

FACT_CACHE_CONTROL = "public, max-age=31536000, immutable"


def request_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


def get(cluster: Cluster, path: str, rid: str, **headers: str) -> Answer:
    return call(cluster.port, "GET", path, headers={"X-Request-ID": rid, **headers})


def access_line(cluster: Cluster, rid: str) -> str:
    """nginx's access line for the request `rid`."""
    (line,) = log_lines([nginx_access_log(cluster)], f"id={rid} ")
    return line


def cache_status(cluster: Cluster, rid: str) -> str:
    found = re.search(r" cache=(\S+)$", access_line(cluster, rid))
    assert found, access_line(cluster, rid)
    return found.group(1)


def reached_an_instance(cluster: Cluster, rid: str) -> bool:
    return re.search(r" upstream=127\.", access_line(cluster, rid)) is not None


def test_a_repeated_request_is_a_hit_with_its_own_request_id(cluster: Cluster) -> None:
    first_id, second_id = request_id("first"), request_id("second")
    first = get(cluster, "/fact?n=321", first_id)
    second = get(cluster, "/fact?n=321", second_id)
    assert (first.status, second.status) == (200, 200)
    assert [cache_status(cluster, rid) for rid in (first_id, second_id)] == ["MISS", "HIT"]
    assert not reached_an_instance(cluster, second_id)
    assert second.header("X-Request-ID") == second_id
    assert second.body == first.body
    assert second.header("Cache-Control") == FACT_CACHE_CONTROL
    assert second.header("ETag") == first.header("ETag") == 'W/"v1-321"'
    # Without an id of the client's, the HIT carries nginx's new one, not the stored one.
    third = call(cluster.port, "GET", "/fact?n=321")
    assert third.header("X-Request-ID") not in {first_id, second_id, None}


@pytest.mark.parametrize("stored_first", [True, False])
def test_a_client_holding_the_answer_gets_304_through_nginx(
    cluster: Cluster, stored_first: bool
) -> None:
    n = 654 if stored_first else 655
    if stored_first:
        assert get(cluster, f"/fact?n={n}", request_id("store")).status == 200
    rid = request_id("conditional")
    answer = get(cluster, f"/fact?n={n}", rid, **{"If-None-Match": f'W/"v1-{n}"'})
    assert answer.status == 304
    assert answer.body == {}
    assert answer.header("ETag") == f'W/"v1-{n}"'
    assert answer.header("Cache-Control") == FACT_CACHE_CONTROL
    assert answer.header("Vary") == "Accept-Encoding"
    assert answer.header("X-Request-ID") == rid
    # Either way the answer is now kept.
    after = request_id("after")
    assert get(cluster, f"/fact?n={n}", after).status == 200
    assert cache_status(cluster, after) == "HIT"


def test_errors_are_never_kept(cluster: Cluster) -> None:
    ids = [request_id("error") for _ in range(2)]
    answers = [get(cluster, "/fact?n=-1", rid) for rid in ids]
    assert [answer.status for answer in answers] == [400, 400]
    for rid, answer in zip(ids, answers, strict=True):
        assert answer.header("Cache-Control") == "no-store"
        assert answer.body["request_id"] == answer.header("X-Request-ID") == rid
        assert reached_an_instance(cluster, rid)
        assert cache_status(cluster, rid) == "MISS"


def test_only_fact_goes_through_the_cache(cluster: Cluster) -> None:
    ids = [request_id("health") for _ in range(2)]
    for rid in ids:
        assert get(cluster, "/healthz", rid).status == 200
        assert reached_an_instance(cluster, rid)
        assert cache_status(cluster, rid) == "-"


def test_a_big_factorial_is_kept_in_each_coding(cluster: Cluster) -> None:
    n = cluster.settings.fact_max_n
    plain = [get(cluster, f"/fact?n={n}", request_id("plain")) for _ in range(2)]
    gzipped_ids = [request_id("gzip") for _ in range(2)]
    gzipped = [
        call(
            cluster.port,
            "GET",
            f"/fact?n={n}",
            headers={"X-Request-ID": rid, "Accept-Encoding": "gzip"},
        )
        for rid in gzipped_ids
    ]
    assert [answer.status for answer in plain + gzipped] == [200] * 4
    assert plain[0].body == plain[1].body
    assert plain[0].body["digits"] == 456_574
    assert cache_status(cluster, gzipped_ids[1]) == "HIT"
    assert not reached_an_instance(cluster, gzipped_ids[1])
    assert gzipped[1].header("Content-Encoding") == "gzip"
    assert gzipped[1].raw == gzipped[0].raw
    assert orjson.loads(gzip.decompress(gzipped[1].raw))["fact"] == plain[0].body["fact"]


def test_concurrent_misses_for_one_n_are_computed_once(cluster: Cluster) -> None:
    n = cluster.settings.fact_max_n - 1
    ids = [request_id("burst") for _ in range(8)]
    with ThreadPoolExecutor(len(ids)) as pool:
        answers = list(pool.map(lambda rid: get(cluster, f"/fact?n={n}", rid), ids))
    assert [answer.status for answer in answers] == [200] * len(ids)
    assert sum(reached_an_instance(cluster, rid) for rid in ids) == 1
    assert sum(answer.body["cached"] is False for answer in answers) == len(ids)


def directives(text: str) -> list[str]:
    """The configuration's lines without comments and blanks."""
    return [line.strip() for line in text.splitlines() if line.strip()[:1] not in {"", "#"}]


def test_without_a_cache_directory_nginx_keeps_nothing() -> None:
    settings = compose_settings()
    cached = directives(render(settings, COMPOSE_SITE))
    uncached = directives(render(settings, dataclasses.replace(COMPOSE_SITE, cache_dir=None)))
    assert any(line.startswith("proxy_cache_path /var/cache/nginx/factsvc ") for line in cached)
    assert "proxy_cache factsvc_fact;" in cached
    assert "proxy_cache_lock on;" in cached
    assert not [line for line in uncached if line.startswith("proxy_cache")]
    assert "location = /fact {" not in uncached
    # Kept only as the service's Cache-Control allows: nginx sets no validity of its own.
    assert not [line for line in cached if line.startswith("proxy_cache_valid")]
