"""A REDIS_TOPOLOGY that does not match the server it names, against real servers: the service
starts, warns at start with the fix, is not ready (503, the reason in the log) and never
answers 500."""

from __future__ import annotations

import logging

import pytest
import tornado.web

from factsvc.config import Settings
from factsvc.embedded import ManagedServer
from factsvc.embedded_redis import RedisClusterServers
from factsvc.embedded_sentinel import RedisSentinelServers
from factsvc.storage.redis_client import make_redis, warn_unless_writable
from tests.support.api import Api
from tests.support.servers import AppFactory, redis_url, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture(
    params=[
        "single at a cluster node",
        "single at a sentinel",
        "cluster at one server",
        "sentinel with a wrong master name",
    ]
)
def mismatched(request: pytest.FixtureRequest, settings: Settings) -> tuple[Settings, str]:
    """Settings whose topology does not fit the server, and what the start warning names."""
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster_backend")
    group: RedisSentinelServers = request.getfixturevalue("redis_sentinel_backend")
    single: ManagedServer = request.getfixturevalue("redis_backend")
    cases: dict[str, tuple[dict[str, object], str]] = {
        "single at a cluster node": (
            {"redis_url": f"redis://{cluster.startup_nodes[0]}/0"},
            "set REDIS_TOPOLOGY=cluster",
        ),
        "single at a sentinel": (
            {"redis_url": f"redis://{group.sentinel_addresses[0]}/0"},
            "set REDIS_TOPOLOGY=sentinel",
        ),
        "cluster at one server": (
            {"redis_topology": "cluster", "redis_url": redis_url(single)},
            "Cluster mode is not enabled",
        ),
        "sentinel with a wrong master name": (
            {
                "redis_topology": "sentinel",
                "redis_sentinels": tuple(group.sentinel_addresses),
                "redis_sentinel_master": "no-such-master",
            },
            "No master found for 'no-such-master'",
        ),
    }
    changes, advice = cases[request.param]
    return with_settings(settings, **changes), advice


@pytest.fixture
def app(app_factory: AppFactory, mismatched: tuple[Settings, str]) -> tornado.web.Application:
    return app_factory(mismatched[0])


async def test_a_mismatched_topology_warns_at_start_with_the_fix(
    mismatched: tuple[Settings, str], caplog: pytest.LogCaptureFixture
) -> None:
    settings, advice = mismatched
    redis = make_redis(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="factsvc.storage.redis_client"):
            await warn_unless_writable(redis, "REDIS_TOPOLOGY", 2.0)
    finally:
        await redis.aclose()
    assert advice in caplog.text


async def test_a_mismatched_topology_is_not_ready_and_never_a_500(
    api: Api, mismatched: tuple[Settings, str]
) -> None:
    ready = await api.get("/readyz")
    assert (ready.status, ready.body["dependencies"]["redis"]) == (503, "unavailable")
    assert (await api.register("alice")).status in (201, 503)
    assert (await api.login("alice")).status in (200, 401, 503)
    assert (await api.get("/fact?n=30")).status == 200


async def test_a_matching_topology_gives_no_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    redis = make_redis(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="factsvc.storage.redis_client"):
            await warn_unless_writable(redis, "REDIS_TOPOLOGY", 2.0)
    finally:
        await redis.aclose()
    assert caplog.text == ""
