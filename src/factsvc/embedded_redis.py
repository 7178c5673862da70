"""A Redis Cluster of own redis-server processes on loopback, formed from Python (no
redis-cli), for the tests and `make cluster`; the parts a Sentinel group shares."""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.crc import key_slot

from factsvc.embedded import LOOPBACK, EmbeddedError, ManagedServer, _redis_argv

CLUSTER_SLOTS = 16384
# Redis Cluster's bus listens on the node's port + 10000 (redis-server 6.2 cannot move it).
CLUSTER_BUS_OFFSET = 10000
READY_TIMEOUT_SECONDS = 30.0
NO_SAVE = ("--save", "")


def free_cluster_port(tries: int = 200) -> int:
    """A loopback port whose bus port (+10000) is free too, both below the kernel's ephemeral
    range (32768 on Linux) so that no outgoing connection takes one meanwhile."""
    for _ in range(tries):
        port = random.randint(10000, 32767 - CLUSTER_BUS_OFFSET)  # noqa: S311 - not a secret
        if all(bindable(p) for p in (port, port + CLUSTER_BUS_OFFSET)):
            return port
    raise EmbeddedError("no free pair of ports for a Redis Cluster node")


def bindable(port: int) -> bool:
    """Whether redis-server could listen on LOOPBACK:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As redis-server does: the connections of a server just stopped, in TIME_WAIT, do
        # not keep the next one from the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


@contextmanager
def redis_client(port: int) -> Iterator[redis.Redis]:
    """A short-lived plain client of the redis-server (or sentinel) on LOOPBACK:`port`."""
    with closing(redis.Redis(LOOPBACK, port, socket_timeout=2, decode_responses=True)) as client:
        yield client


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll `condition` (a Redis error counts as False) until true; EmbeddedError at `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(redis.RedisError, OSError):
            if condition():
                return
        time.sleep(0.05)
    raise EmbeddedError(f"{what} within {timeout:g} s")


def _cluster(client: redis.Redis, subcommand: str, *args: object) -> Any:
    """The answer to CLUSTER `subcommand` `args`, parsed as redis-py parses it (CLUSTER INFO
    and NODES as dicts)."""
    return client.execute_command(f"CLUSTER {subcommand}", *args)  # type: ignore[no-untyped-call]


def replica_synced(port: int) -> bool:
    with redis_client(port) as client:
        info = client.info("replication")
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def kill(node: ManagedServer) -> None:
    """SIGKILL `node` (a crash: no save, no goodbye) and reap it; start() brings it back."""
    if node.process is not None and node.process.poll() is None:
        os.kill(node.process.pid, signal.SIGKILL)
        node.process.wait()


@dataclass
class ServerGroup:
    """Redis processes started together and stopped by pid, last started first."""

    servers: list[ManagedServer] = field(default_factory=list)

    def _start_all(self, servers: list[ManagedServer] | None = None) -> None:
        """Start `servers` (default: all) and wait until they listen; on failure stop all."""
        try:
            for server in servers or self.servers:
                server.start()
            for server in servers or self.servers:
                server.wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process by its pid (SIGTERM, then SIGKILL); never raises for one gone."""
        for server in reversed(self.servers):
            server.stop()


@dataclass
class RedisClusterServers(ServerGroup):
    """A Redis Cluster of `masters` masters with `replicas` replicas each on loopback, data
    under `data_dir` (node-1 ... node-N; nodes.conf in each), logs in `log_dir`.

    `node_timeout_ms` is cluster-node-timeout: a master unreachable that long is failed
    over to its replica. `full_coverage` is cluster-require-full-coverage: yes (Redis'
    default) refuses every command while some slot has no master (from the moment a master is
    marked failed until its replica takes over); no lets the other masters serve their slots
    meanwhile. `save` are redis-server's save arguments (default: none)."""

    data_dir: Path = Path()
    log_dir: Path = Path()
    masters: int = 3
    replicas: int = 1
    node_timeout_ms: int = 5000
    full_coverage: bool = True
    save: tuple[str, ...] = NO_SAVE
    ports: list[int] | None = None

    def __post_init__(self) -> None:
        count = self.masters * (1 + self.replicas)
        ports = self.ports or [free_cluster_port() for _ in range(count)]
        self.servers = [self._node(number, port) for number, port in enumerate(ports, 1)]

    def _node(self, number: int, port: int) -> ManagedServer:
        node_dir = self.data_dir / f"node-{number}"
        node_dir.mkdir(parents=True, exist_ok=True)
        argv = _redis_argv(
            node_dir, port,
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--cluster-require-full-coverage", "yes" if self.full_coverage else "no",
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
            *self.save,
        )  # fmt: skip
        log_path = self.log_dir / f"redis-cluster-node-{number}.log"
        return ManagedServer(
            f"redis cluster node {number}", argv, port, log_path, node_dir / "server.pid"
        )

    @property
    def nodes(self) -> list[ManagedServer]:
        return self.servers

    @property
    def startup_nodes(self) -> list[str]:
        """host:port of every node, for REDIS_URL and REDIS_CLUSTER_NODES."""
        return [f"{LOOPBACK}:{node.port}" for node in self.nodes]

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start the nodes and, unless their nodes.conf already hold a formed cluster, form
        it: slots split evenly over the first `masters` nodes (CLUSTER ADDSLOTS), every node
        met (CLUSTER MEET), each other node the replica of a master (CLUSTER REPLICATE).
        Returns when every node says cluster_state:ok and every replica's link is up;
        EmbeddedError (everything stopped) past `timeout` seconds."""
        self._start_all()
        try:
            if not self._formed():
                self._form(timeout)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _formed(self) -> bool:
        with redis_client(self.nodes[0].port) as client:
            return int(_cluster(client, "INFO").get("cluster_known_nodes", 1)) > 1

    def _form(self, timeout: float) -> None:
        masters, replicas = self.nodes[: self.masters], self.nodes[self.masters :]
        for number, master in enumerate(masters):
            first = number * CLUSTER_SLOTS // self.masters
            last = (number + 1) * CLUSTER_SLOTS // self.masters
            with redis_client(master.port) as client:
                # Distinct epochs, as redis-cli gives them: no collision to resolve at failover.
                _cluster(client, "SET-CONFIG-EPOCH", number + 1)
                # One slot per argument: redis-server 6.2 has no ADDSLOTSRANGE.
                _cluster(client, "ADDSLOTS", *range(first, last))
        with redis_client(self.nodes[0].port) as client:
            for node in self.nodes[1:]:
                _cluster(client, "MEET", LOOPBACK, node.port)
        wait_for(self._all_known, "the cluster's nodes did not all meet", timeout)
        master_ids = [self._node_id(master) for master in masters]
        for number, replica in enumerate(replicas):
            with redis_client(replica.port) as client:
                _cluster(client, "REPLICATE", master_ids[number % self.masters])

    def _all_known(self) -> bool:
        for node in self.nodes:
            with redis_client(node.port) as client:
                table = _cluster(client, "NODES")  # {address: node}
            if len(table) != len(self.nodes) or any(
                "handshake" in known["flags"] or not known["connected"] for known in table.values()
            ):
                return False
        return True

    def _node_id(self, node: ManagedServer) -> str:
        with redis_client(node.port) as client:
            return str(_cluster(client, "MYID"))

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until every running node says cluster_state:ok, every running replica's link
        to its master is up, and every running node knows the others' roles as they are."""

        def ready() -> bool:
            running = [node for node in self.nodes if node.running]
            roles = {}
            for node in running:
                with redis_client(node.port) as client:
                    if _cluster(client, "INFO")["cluster_state"] != "ok":
                        return False
                    roles[f"{LOOPBACK}:{node.port}"] = client.info("replication")["role"]
                if roles[f"{LOOPBACK}:{node.port}"] != "master" and not replica_synced(node.port):
                    return False
            for node in running:
                with redis_client(node.port) as client:
                    known = _cluster(client, "NODES")  # {address: {"flags": ...}}
                for address, role in roles.items():
                    if address not in known or role not in known[address]["flags"]:
                        return False
            return True

        wait_for(ready, "the Redis Cluster was not ready", timeout)

    def flush(self) -> None:
        """Empty every master now running (FLUSHALL)."""
        for master in self.masters_now():
            with redis_client(master.port) as client:
                client.flushall()

    def master_of_slot(self, slot: int) -> ManagedServer:
        """The node that a running node believes serves `slot` (0-16383) as master."""
        for node in self.nodes:
            if node.running:
                with suppress(redis.RedisError), redis_client(node.port) as client:
                    slots = _cluster(client, "SLOTS")
                    for first, last, (_host, port, *_rest), *_replicas in slots:
                        if first <= slot <= last:
                            return self.node_at(int(port))
        raise EmbeddedError(f"no running node knows a master of slot {slot}")

    def master_of_key(self, key: str) -> ManagedServer:
        """The master of `key`'s slot (hash tags respected)."""
        return self.master_of_slot(key_slot(key.encode()))

    def masters_now(self) -> list[ManagedServer]:
        """The running nodes that are masters now."""
        found = []
        for node in self.nodes:
            if node.running:
                with suppress(redis.RedisError), redis_client(node.port) as client:
                    if client.info("replication")["role"] == "master":
                        found.append(node)
        return found

    def node_at(self, port: int) -> ManagedServer:
        """The node on LOOPBACK:`port`; StopIteration if none."""
        return next(node for node in self.nodes if node.port == port)
