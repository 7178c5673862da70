"""The Redis Cluster and Sentinel group the tests and `make cluster` start: formed, ready,
failing over when a master is killed, and stopped by pid."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from factsvc.embedded import LOOPBACK, ManagedServer
from factsvc.embedded_redis import CLUSTER_SLOTS, RedisClusterServers, kill
from factsvc.embedded_sentinel import RedisSentinelServers

pytestmark = pytest.mark.timeout(90)


def direct(node: ManagedServer) -> redis.Redis:
    return redis.Redis(LOOPBACK, node.port, socket_timeout=2, decode_responses=True)


def cluster_client(cluster: RedisClusterServers) -> RedisCluster:
    return RedisCluster(
        startup_nodes=[
            ClusterNode(LOOPBACK, node.port)  # type: ignore[no-untyped-call]
            for node in cluster.nodes
            if node.running
        ],
        decode_responses=True,
        socket_timeout=2,
    )


def eventually(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition` held (errors count as not yet); fails past `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if condition():
                return time.monotonic() - start
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def test_the_cluster_covers_every_slot_with_three_masters_and_a_replica_each(
    redis_cluster_backend: RedisClusterServers,
) -> None:
    with direct(redis_cluster_backend.nodes[-1]) as client:
        slots = client.execute_command("CLUSTER SLOTS")
        info = client.execute_command("CLUSTER INFO")
        nodes = client.execute_command("CLUSTER NODES")  # {address: node}
    assert info["cluster_state"] == "ok"
    assert int(info["cluster_known_nodes"]) == 6
    ranges = sorted((first, last) for first, last, *_ in slots)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == CLUSTER_SLOTS - 1
    assert sum(last - first + 1 for first, last in ranges) == CLUSTER_SLOTS
    masters = {node["node_id"] for node in nodes.values() if "master" in node["flags"]}
    replicated = sorted(node["master_id"] for node in nodes.values() if "slave" in node["flags"])
    assert replicated == sorted(masters), "one replica each"
    assert len(redis_cluster_backend.masters_now()) == 3


def test_a_key_lives_on_the_master_that_master_of_key_names(
    redis_cluster_backend: RedisClusterServers,
) -> None:
    with cluster_client(redis_cluster_backend) as client:
        for key in ("{alice}session", "{bob}session", "{carol}session"):
            client.set(key, "1")
            with direct(redis_cluster_backend.master_of_key(key)) as owner:
                assert owner.get(key) == "1"
    redis_cluster_backend.flush()
    with cluster_client(redis_cluster_backend) as client:
        assert client.get("{alice}session") is None


def test_a_killed_master_is_replaced_by_its_replica_which_kept_its_data(
    own_redis_cluster: RedisClusterServers,
) -> None:
    key = "{failover}key"
    with cluster_client(own_redis_cluster) as client:
        client.set(key, "kept")
    old = own_redis_cluster.master_of_key(key)
    with direct(old) as master:
        assert master.wait(1, 2000) == 1, "the replica has the key"
    kill(old)
    promoted = eventually(lambda: own_redis_cluster.master_of_key(key) is not old, timeout=20)
    print(f"replica promoted {promoted:.2f} s after the kill")
    own_redis_cluster.wait_ready()
    with cluster_client(own_redis_cluster) as client:
        assert client.get(key) == "kept"
    assert len(own_redis_cluster.masters_now()) == 3, "three masters again"

    old.start()  # back from the crash: it rejoins as the replica of its replacement
    own_redis_cluster.wait_ready()
    with direct(old) as client:
        eventually(lambda: client.info("replication")["role"] == "slave", timeout=20)


def test_stop_ends_every_node_and_a_restart_on_the_same_ports_keeps_the_cluster(
    tmp_path: Path,
) -> None:
    cluster = RedisClusterServers(data_dir=tmp_path / "data", log_dir=tmp_path, replicas=0)
    cluster.start()
    processes = [node.process for node in cluster.nodes]
    cluster.stop()
    assert all(p is not None and p.poll() is not None for p in processes)

    ports = [node.port for node in cluster.nodes]
    again = RedisClusterServers(
        data_dir=tmp_path / "data", log_dir=tmp_path, replicas=0, ports=ports
    )
    again.start()  # their nodes.conf: no forming again (ADDSLOTS would fail)
    try:
        assert len(again.masters_now()) == 3
    finally:
        again.stop()


def test_the_sentinels_know_the_master_its_replica_and_each_other(
    redis_sentinel_backend: RedisSentinelServers,
) -> None:
    master, replica = redis_sentinel_backend.master(), redis_sentinel_backend.replica()
    with direct(master) as client:
        assert client.info("replication")["role"] == "master"
    with direct(replica) as client:
        assert client.info("replication")["master_link_status"] == "up"
    for sentinel in redis_sentinel_backend.sentinel_nodes:
        with direct(sentinel) as client:
            state = client.sentinel_master("factsvc")
        assert isinstance(state, dict)
        assert (state["port"], state["quorum"]) == (master.port, 2)
        assert (state["num-slaves"], state["num-other-sentinels"]) == (1, 2)


def test_a_killed_sentinel_master_is_replaced_and_master_for_follows(
    own_redis_sentinel: RedisSentinelServers,
) -> None:
    sentinels = [(LOOPBACK, s.port) for s in own_redis_sentinel.sentinel_nodes]
    sentinel = Sentinel(sentinels, socket_timeout=1, decode_responses=True)  # type: ignore[no-untyped-call]
    client = sentinel.master_for("factsvc", socket_timeout=1)  # type: ignore[no-untyped-call]
    try:
        client.set("key", "kept")
        old = own_redis_sentinel.master()
        assert client.wait(1, 2000) == 1
        kill(old)
        promoted = eventually(lambda: own_redis_sentinel.master() is not old, timeout=20)
        print(f"replica promoted {promoted:.2f} s after the kill")
        assert eventually(lambda: client.get("key") == "kept", timeout=10) < 5
    finally:
        client.close()
        # The sentinels' own clients too: left open, their sockets were closed (with a
        # ResourceWarning) by whichever later test the garbage collector ran in.
        for each in sentinel.sentinels:
            each.close()
