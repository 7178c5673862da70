"""make cluster's state Redis Cluster keeps its ports, and so its nodes' data, from one run to
the next while they are free; otherwise it starts a new cluster on new ports."""

from __future__ import annotations

import socket
from pathlib import Path

from factsvc.cluster.state_redis import NODES, PORTS_FILE, instance_settings, state_redis_cluster
from factsvc.embedded import LOOPBACK, ManagedServer
from factsvc.embedded_redis import RedisClusterServers, bindable


def ports_of(cluster: RedisClusterServers) -> list[int]:
    return [node.port for node in cluster.nodes]


def node_files(data_dir: Path) -> list[Path]:
    return [data_dir / f"node-{n}" / name for n in (1, 2) for name in ("nodes.conf", "dump.rdb")]


def test_a_second_run_takes_the_first_runs_ports_and_keeps_its_files(tmp_path: Path) -> None:
    first = state_redis_cluster(tmp_path, tmp_path)
    assert len(ports_of(first)) == NODES
    for path in node_files(tmp_path):
        path.write_text("kept")
    second = state_redis_cluster(tmp_path, tmp_path)
    assert ports_of(second) == ports_of(first)
    assert all(path.exists() for path in node_files(tmp_path))


def test_a_port_taken_meanwhile_gives_new_ports_and_forgets_the_old_cluster(
    tmp_path: Path,
) -> None:
    first = state_redis_cluster(tmp_path, tmp_path)
    for path in node_files(tmp_path):
        path.write_text("stale")
    with socket.socket() as taken:
        taken.bind((LOOPBACK, first.nodes[3].port))
        second = state_redis_cluster(tmp_path, tmp_path)
    assert ports_of(second) != ports_of(first)
    assert not any(path.exists() for path in node_files(tmp_path)), "no node names old ports"
    assert (tmp_path / PORTS_FILE).read_text().split() == [str(p) for p in ports_of(second)]


def test_a_damaged_ports_file_gives_new_ports(tmp_path: Path) -> None:
    (tmp_path / PORTS_FILE).write_text("6379 not-a-port")
    cluster = state_redis_cluster(tmp_path, tmp_path)
    assert len(set(ports_of(cluster))) == NODES


def test_the_instances_start_from_one_master_and_know_the_others(tmp_path: Path) -> None:
    class Running(RedisClusterServers):
        def masters_now(self) -> list[ManagedServer]:
            return self.nodes[:3]

    cluster = Running(data_dir=tmp_path, log_dir=tmp_path)
    first, second, third = (f"{LOOPBACK}:{node.port}" for node in cluster.nodes[:3])
    assert instance_settings(cluster) == {
        "REDIS_TOPOLOGY": "cluster",
        "REDIS_URL": f"redis://{first}/0",
        "REDIS_CLUSTER_NODES": f"{second},{third}",
    }


def test_a_port_whose_last_connection_waits_in_time_wait_is_free_again() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection((LOOPBACK, port)):
            accepted, _ = listener.accept()
            accepted.close()  # the server's side closes first: its port waits in TIME_WAIT
    assert bindable(port), "a stopped redis-server's port, as redis-server itself binds it"
