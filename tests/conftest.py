"""Shared fixtures: real redis-server and MongoDB-compatible servers started by the tests, and
the application served over real sockets by pytest-tornado."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis as redis_sync
import tornado.httpserver
import tornado.ioloop
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services, make_app, open_services
from factsvc.config import Settings
from factsvc.embedded import (
    ManagedServer,
    mongo_server,
    mongodb_uri,
    redis_cache_server,
    redis_server,
)
from factsvc.embedded_redis import RedisClusterServers
from factsvc.embedded_sentinel import RedisSentinelServers
from factsvc.server import make_http_server
from tests.support.api import Api
from tests.support.mail import MailSink
from tests.support.servers import (
    STRONG_SECRET,
    AppFactory,
    ServicesFactory,
    SuiteSettings,
    redis_url,
)


def _started(server: ManagedServer) -> ManagedServer:
    server.start()
    server.wait_until_listening()
    return server


@pytest.fixture(scope="session")
def redis_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedServer]:
    base = tmp_path_factory.mktemp("redis")
    server = _started(redis_server(base / "data", base))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedServer]:
    """The suite's MongoDB-compatible server, in memory: a one-node replica set, reached at
    embedded.mongodb_uri(port) and ready once it is the writable primary."""
    base = tmp_path_factory.mktemp("mongo")
    server = _started(mongo_server(None, base))
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ManagedServer]:
    """A redis-server of this test alone, which the test may pause, stop and restart."""
    server = _started(redis_server(tmp_path / "redis-data", tmp_path))
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


# Small, so that a test's killed master fails over within a few seconds.
FAILOVER_NODE_TIMEOUT_MS = 1000
FAILOVER_DOWN_AFTER_MS = 1000


@pytest.fixture(scope="session")
def redis_cluster_backend(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisClusterServers]:
    """A Redis Cluster shared by the suite: 3 masters with a replica each, not to be harmed
    (tests empty it with flush())."""
    base = tmp_path_factory.mktemp("redis-cluster")
    cluster = RedisClusterServers(data_dir=base / "data", log_dir=base)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel_backend(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisSentinelServers]:
    """A Sentinel group shared by the suite: a master, its replica and three sentinels
    watching it as "factsvc", not to be harmed (tests empty it with flush())."""
    base = tmp_path_factory.mktemp("redis-sentinel")
    group = RedisSentinelServers(data_dir=base / "data", log_dir=base)
    group.start()
    yield group
    group.stop()


@pytest.fixture
def own_redis_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """A Redis Cluster of this test alone (3 masters with a replica each, node timeout
    FAILOVER_NODE_TIMEOUT_MS, cluster-require-full-coverage off as `make cluster` runs it),
    whose nodes the test may kill."""
    cluster = RedisClusterServers(
        data_dir=tmp_path / "redis-cluster",
        log_dir=tmp_path,
        node_timeout_ms=FAILOVER_NODE_TIMEOUT_MS,
        full_coverage=False,
    )
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def own_redis_sentinel(tmp_path: Path) -> Iterator[RedisSentinelServers]:
    """A Sentinel group of this test alone (down-after FAILOVER_DOWN_AFTER_MS), whose
    master the test may kill."""
    group = RedisSentinelServers(
        data_dir=tmp_path / "redis-sentinel",
        log_dir=tmp_path,
        down_after_ms=FAILOVER_DOWN_AFTER_MS,
    )
    group.start()
    yield group
    group.stop()


# Small, so that a test fills it with a few dozen large factorials.
CACHE_SERVER_MAX_BYTES = 3 << 20


@pytest.fixture
def own_redis_cache(tmp_path: Path) -> Iterator[ManagedServer]:
    """A redis-server of this test alone, configured as `serve --embedded` runs the factorial
    cache's (maxmemory CACHE_SERVER_MAX_BYTES, allkeys-lru, nothing on disk)."""
    server = _started(redis_cache_server(tmp_path / "cache-data", tmp_path, CACHE_SERVER_MAX_BYTES))
    yield server
    server.stop()


@pytest.fixture
def redis_direct(redis_backend: ManagedServer) -> Iterator[redis_sync.Redis]:
    """A plain client to inspect and prepare the shared test Redis; emptied for each test."""
    client = redis_sync.Redis(host="127.0.0.1", port=redis_backend.port)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def settings(
    redis_backend: ManagedServer,
    mongo_backend: ManagedServer,
    tmp_path: Path,
    redis_direct: redis_sync.Redis,
) -> Settings:
    """Production-like settings on the shared test servers, through the same validation as
    production's (see SuiteSettings); Redis is emptied for each test."""
    return SuiteSettings(
        debug=False,
        path_data=tmp_path,
        log_to_file=False,
        session_cookie_secret=STRONG_SECRET,
        redis_url=redis_url(redis_backend),
        mongodb_uri=mongodb_uri(mongo_backend.port),
        mongodb_name=f"test_{uuid.uuid4().hex[:16]}",
        mongodb_timeout_ms=1000,
        fact_max_n=100_000,
        # Every n goes through the cache, so that small, readable values exercise Redis; the
        # tests of FACT_CACHE_MIN_N set their own.
        fact_cache_min_n=0,
        # bcrypt's lowest cost keeps the suite fast; tests about cost set their own.
        bcrypt_rounds=4,
        bcrypt_max_pending=64,
        # Required outside DEBUG once a test names an SMTP server; the default's value.
        public_base_url="http://127.0.0.1:8888",
        # The tests that wait for a reset mail need not wait for the random delay too.
        password_forgot_delay_max_seconds=0.0,
    )


@pytest.fixture
def io_loop() -> Iterator[tornado.ioloop.IOLoop]:
    """pytest-tornado's fixture, without the loop it leaves behind: IOLoop's make_current asks
    asyncio for the current loop, to restore it afterwards, and asyncio (3.11) makes one when
    none is set. That loop stayed current, never closed, until a later asyncio.run() dropped it
    and the garbage collector warned about its sockets in whichever test it then ran."""
    loop = tornado.ioloop.IOLoop(make_current=False)
    asyncio.set_event_loop(loop.asyncio_loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close(all_fds=True)


@pytest.fixture
def services_factory(io_loop: tornado.ioloop.IOLoop) -> Iterator[ServicesFactory]:
    """Builds services the way the server does, closing their clients after the test."""
    stack = AsyncExitStack()

    def build(settings: Settings) -> Services:
        services: Services = io_loop.run_sync(
            lambda: stack.enter_async_context(open_services(settings))
        )
        return services

    yield build
    io_loop.run_sync(stack.aclose)


@pytest.fixture
def app_factory(services_factory: ServicesFactory) -> AppFactory:
    return lambda settings: make_app(settings, services_factory(settings))


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The settings the test's app is built on: the test's `settings` unless a module changes
    them here alone (the HTTP server's limits keep following `settings`)."""
    return settings


@pytest.fixture
def services(services_factory: ServicesFactory, app_settings: Settings) -> Services:
    """The services the test's app is built on, for tests that reach into them."""
    return services_factory(app_settings)


@pytest.fixture
def app(services: Services, app_settings: Settings) -> tornado.web.Application:
    return make_app(app_settings, services)


@pytest.fixture
def http_server(
    request: pytest.FixtureRequest,
    io_loop: tornado.ioloop.IOLoop,
    _unused_port: tuple[socket.socket, int],
    settings: Settings,
) -> Iterator[tornado.httpserver.HTTPServer]:
    """pytest-tornado's server, with the production server's limits."""
    application = request.getfixturevalue("app")
    server = make_http_server(application, settings)
    server.add_socket(_unused_port[0])
    yield server
    server.stop()
    io_loop.run_sync(server.close_all_connections)
    io_loop.run_sync(server.finish_lingering)


@pytest.fixture
def api(http_client: AsyncHTTPClient, base_url: str) -> Api:
    """A client of the application under test: JSON bodies, a cookie jar, bearer tokens."""
    return Api(http_client, base_url)


@pytest.fixture
def users(settings: Settings, mongo_backend: ManagedServer) -> Iterator[Any]:
    """The users collection, read directly to check what is stored."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongodb_uri(mongo_backend.port), serverSelectionTimeoutMS=2000
    )
    yield client[settings.mongodb_name]["users"]
    client.close()


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives: point
    the service at it with `settings.replaced(smtp_url=mail_sink.url)`, then
    `await mail_sink.next_to(address)` (or `wait_for_next_to` outside the loop) and
    tests.support.mail.token_in(mail)."""
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def lost_redis_connections() -> Iterator[None]:
    """For a test that kills or pauses a Redis node (with the filter LOST_REDIS_CONNECTIONS):
    the connections redis-py lost track of are collected at the test's end, under its filter."""
    yield
    gc.collect()
