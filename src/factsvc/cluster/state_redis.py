"""The cluster's state Redis: a Redis Cluster of three masters with a replica each under
PATH_DATA/cluster, kept from one run to the next on the same ports, and the settings that
point the instances at it."""

from __future__ import annotations

from pathlib import Path

from factsvc.embedded import LOOPBACK
from factsvc.embedded_redis import CLUSTER_BUS_OFFSET, RedisClusterServers, bindable

NODES = 6  # three masters, a replica each
# How long a master may not answer before its replica replaces it (cluster-node-timeout).
NODE_TIMEOUT_MS = 5000
PORTS_FILE = "ports"


def state_redis_cluster(data_dir: Path, log_dir: Path) -> RedisClusterServers:
    """The state's Redis Cluster with its nodes' data under `data_dir` (saved as the single
    state Redis saves it: after 60 s when a key changed, and at a stop), logs in `log_dir`,
    cluster-require-full-coverage off; not started.

    Its nodes take the ports of the previous run (in `data_dir`/ports) when all are free again,
    so that the nodes find each other and their data; else new ports and a new, empty cluster
    (every node's nodes.conf and dump.rdb removed: they name nodes that are no longer there)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ports_file = data_dir / PORTS_FILE
    ports = _saved_ports(ports_file)
    if ports is None:
        for stale in [*data_dir.glob("node-*/nodes.conf"), *data_dir.glob("node-*/dump.rdb")]:
            stale.unlink()
    cluster = RedisClusterServers(
        data_dir=data_dir,
        log_dir=log_dir,
        node_timeout_ms=NODE_TIMEOUT_MS,
        # While a master is down, the others go on serving their slots: the sessions of most
        # users stay usable through a failover.
        full_coverage=False,
        save=("--save", "60", "1"),
        ports=ports,
    )
    ports_file.write_text(" ".join(str(node.port) for node in cluster.nodes))
    return cluster


def _saved_ports(ports_file: Path) -> list[int] | None:
    """The ports in `ports_file` if there are NODES of them and each (and its bus port) is
    free; None otherwise."""
    try:
        ports = [int(word) for word in ports_file.read_text().split()]
    except (OSError, ValueError):
        return None
    if len(ports) != NODES:
        return None
    if not all(bindable(port) and bindable(port + CLUSTER_BUS_OFFSET) for port in ports):
        return None
    return ports


def instance_settings(cluster: RedisClusterServers) -> dict[str, str]:
    """REDIS_TOPOLOGY, REDIS_URL (a master) and REDIS_CLUSTER_NODES (the other masters) of the
    instances on the running `cluster`."""
    first, *others = [f"{LOOPBACK}:{node.port}" for node in cluster.masters_now()]
    return {
        "REDIS_TOPOLOGY": "cluster",
        "REDIS_URL": f"redis://{first}/0",
        "REDIS_CLUSTER_NODES": ",".join(others),
    }
