"""Fixtures for the contract tests: real clients on the shared test servers, and clients aimed
at a loopback port where nothing listens, each built as production builds them."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync
import tornado.ioloop
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from factsvc.config import Settings
from factsvc.embedded import ManagedServer, _redis_argv, find_redis_server, free_port
from factsvc.storage import mongo, redis_client
from factsvc.storage.mongo import MongoClient
from tests.contract.subjects import ManualClock
from tests.support.servers import with_settings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[Redis]:
    async def build() -> Redis:
        return redis_client.make_redis(settings)

    client = io_loop.run_sync(build)
    yield client
    io_loop.run_sync(lambda: client.aclose(close_connection_pool=True))


def _mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    async def build() -> MongoClient:
        return mongo.make_mongo_client(settings)

    client = io_loop.run_sync(build)
    yield client
    client.close()


@pytest.fixture
def live_redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[Redis]:
    """A client on the shared test Redis, which the settings fixture empties for each test."""
    yield from _redis(io_loop, settings)


@pytest.fixture
def dead_redis(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[Redis]:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    yield from _redis(io_loop, with_settings(settings, redis_url=nowhere))


@pytest.fixture
def live_mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    """A client on the shared test server; the settings fixture names a fresh database."""
    yield from _mongo(io_loop, settings)


@pytest.fixture
def dead_mongo(io_loop: tornado.ioloop.IOLoop, settings: Settings) -> Iterator[MongoClient]:
    nowhere = f"mongodb://127.0.0.1:{free_port()}/"
    yield from _mongo(io_loop, with_settings(settings, mongodb_uri=nowhere, mongodb_timeout_ms=300))


def _cluster_port() -> int:
    # The cluster bus listens on port + 10000: both must be free and below the ephemeral range.
    for _ in range(200):
        port = random.randint(10000, 22767)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free cluster ports")


@pytest.fixture(scope="session")
def scratch_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A Redis Cluster of three masters without replicas; its nodes' host:port."""
    base = tmp_path_factory.mktemp("cluster")
    nodes = []
    for number in range(3):
        port, data = _cluster_port(), base / f"node-{number}"
        data.mkdir()
        argv = _redis_argv(data, port, "--save", "", "--cluster-enabled", "yes")
        argv += ["--cluster-node-timeout", "2000"]
        nodes.append(ManagedServer("redis-cluster-node", argv, port, base / f"node-{number}.log"))
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_until_listening()
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        cli = str(Path(find_redis_server()).with_name("redis-cli"))
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for node in nodes:
            client = redis_sync.Redis(port=node.port, decode_responses=True)
            deadline = time.monotonic() + 30
            while client.cluster("info").get("cluster_state") != "ok":
                assert time.monotonic() < deadline, "the cluster did not form"
                time.sleep(0.05)
            client.close()
        yield addresses
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def cluster_redis(
    io_loop: tornado.ioloop.IOLoop, scratch_cluster: list[str]
) -> Iterator[RedisCluster]:
    """A client on the test Redis Cluster, emptied for each test."""

    async def build() -> RedisCluster:
        client = RedisCluster.from_url(f"redis://{scratch_cluster[0]}/0")
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
        return client

    client = io_loop.run_sync(build)
    yield client
    io_loop.run_sync(client.aclose)
