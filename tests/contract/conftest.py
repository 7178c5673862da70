"""Fixtures for the contract tests: real clients on the shared test servers, and clients aimed
at a loopback port where nothing listens, each built as production builds them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import tornado.ioloop
from redis.asyncio.cluster import RedisCluster

from factsvc.config import Settings
from factsvc.embedded import free_port
from factsvc.embedded_redis import RedisClusterServers
from factsvc.storage import mongo, redis_client
from factsvc.storage.mongo import MongoClient
from factsvc.storage.redis_client import RedisClient
from tests.contract.subjects import ManualClock
from tests.support.servers import with_settings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[RedisClient]:
    async def build() -> RedisClient:
        return redis_client.make_redis(settings)

    client = io_loop.run_sync(build)
    yield client
    io_loop.run_sync(client.aclose)


def _mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    async def build() -> MongoClient:
        return mongo.make_mongo_client(settings)

    client = io_loop.run_sync(build)
    yield client
    client.close()


@pytest.fixture
def live_redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[RedisClient]:
    """A client on the shared test Redis, which the settings fixture empties for each test."""
    yield from _redis(io_loop, settings)


@pytest.fixture
def dead_redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[RedisClient]:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    yield from _redis(io_loop, with_settings(settings, redis_url=nowhere))


@pytest.fixture
def cluster_redis(
    io_loop: tornado.ioloop.IOLoop, settings: Settings, redis_cluster_backend: RedisClusterServers
) -> Iterator[RedisClient]:
    """A client on the suite's Redis Cluster (tests/conftest.py), emptied for each test, that
    knows the cluster's slots before the test's first command: with redis-py 8.1, concurrent
    first commands of a RedisCluster that has not learnt them yet race (about 2 of 10 failed
    here, some with AttributeError)."""
    redis_cluster_backend.flush()
    node = f"redis://{redis_cluster_backend.startup_nodes[0]}/0"
    for client in _redis(
        io_loop, with_settings(settings, redis_topology="cluster", redis_url=node)
    ):
        assert isinstance(client, RedisCluster)
        io_loop.run_sync(client.initialize)
        yield client


@pytest.fixture
def dead_cluster_redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[RedisClient]:
    """A Redis Cluster client whose startup node is a port where nothing listens."""
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    yield from _redis(io_loop, with_settings(settings, redis_topology="cluster", redis_url=nowhere))


@pytest.fixture
def live_mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    """A client on the shared test server; the settings fixture names a fresh database."""
    yield from _mongo(io_loop, settings)


@pytest.fixture
def dead_mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    nowhere = f"mongodb://127.0.0.1:{free_port()}/"
    yield from _mongo(io_loop, with_settings(settings, mongodb_uri=nowhere, mongodb_timeout_ms=300))
