"""Where the race tests run on real servers: the suite's single Redis or its Redis Cluster, and
the clients of the production adapters, closed afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from factsvc.config import Settings
from factsvc.embedded_redis import RedisClusterServers
from factsvc.storage import mongo, redis_client
from factsvc.storage.mongo import MongoClient
from factsvc.storage.redis_client import RedisClient
from tests.support.servers import with_settings

STATE_ON = ["redis", "cluster"]


def state_settings_on(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """`settings` with sessions and counters on `request.param` (one of STATE_ON): the suite's
    single Redis, or its Redis Cluster, emptied first."""
    if request.param == "redis":
        return settings
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster_backend")
    cluster.flush()
    node = f"redis://{cluster.startup_nodes[0]}/0"
    return with_settings(settings, redis_topology="cluster", redis_url=node)


@contextlib.asynccontextmanager
async def real_clients(settings: Settings) -> AsyncIterator[tuple[RedisClient, MongoClient]]:
    """The state Redis client (a Cluster's slots learnt first) and a MongoDB client."""
    redis = redis_client.make_redis(settings)
    if isinstance(redis, RedisCluster):
        await redis.initialize()  # see tests/contract/conftest.py's cluster_redis
    client = mongo.make_mongo_client(settings)
    try:
        yield redis, client
    finally:
        client.close()
        await redis_client.close(redis)
