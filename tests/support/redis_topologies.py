"""Settings that put the service on a test Redis Cluster or Sentinel group."""

from __future__ import annotations

from factsvc.config import Settings
from factsvc.embedded_redis import RedisClusterServers
from factsvc.embedded_sentinel import RedisSentinelServers
from tests.support.servers import with_settings


def cluster_settings(
    settings: Settings, cluster: RedisClusterServers, **changes: object
) -> Settings:
    """`settings` on `cluster`: REDIS_URL at its first node, the others in REDIS_CLUSTER_NODES."""
    first, *others = cluster.startup_nodes
    return with_settings(
        settings,
        redis_topology="cluster",
        redis_url=f"redis://{first}/0",
        redis_cluster_nodes=tuple(others),
        **changes,
    )


def sentinel_settings(settings: Settings, group: RedisSentinelServers) -> Settings:
    """`settings` on `group`'s master; REDIS_URL's host and port name nothing that answers."""
    return with_settings(
        settings,
        redis_topology="sentinel",
        redis_url="redis://unused.invalid:1/0",
        redis_sentinels=tuple(group.sentinel_addresses),
        redis_sentinel_master=group.master_name,
    )
