"""A Sentinel group of own redis-server processes on loopback (a master, its replica, three
sentinels), for the tests."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from factsvc.embedded import (
    LOOPBACK,
    EmbeddedError,
    ManagedServer,
    _redis_argv,
    find_redis_server,
    free_port,
)
from factsvc.embedded_redis import (
    NO_SAVE,
    READY_TIMEOUT_SECONDS,
    ServerGroup,
    redis_client,
    replica_synced,
    wait_for,
)


@dataclass
class RedisSentinelServers(ServerGroup):
    """A master, a replica of it (--replicaof) and `sentinels` sentinels watching it under
    the service name `master_name` with quorum 2, on loopback; data under `data_dir`, logs in
    `log_dir`. `down_after_ms` is down-after-milliseconds (how long a master may not answer
    before a failover starts), `failover_timeout_ms` the sentinels' failover-timeout."""

    data_dir: Path = Path()
    log_dir: Path = Path()
    master_name: str = "factsvc"
    sentinels: int = 3
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000
    save: tuple[str, ...] = NO_SAVE
    redis_nodes: list[ManagedServer] = field(init=False, default_factory=list)
    sentinel_nodes: list[ManagedServer] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        master_port, replica_port = free_port(), free_port()
        master = self._redis("master", master_port)
        replica = self._redis("replica", replica_port, "--replicaof", LOOPBACK, str(master_port))
        self.redis_nodes = [master, replica]
        self.sentinel_nodes = [self._sentinel(n, master_port) for n in range(1, self.sentinels + 1)]
        self.servers = self.redis_nodes + self.sentinel_nodes

    def _redis(self, role: str, port: int, *extra: str) -> ManagedServer:
        node_dir = self.data_dir / role
        node_dir.mkdir(parents=True, exist_ok=True)
        argv = _redis_argv(node_dir, port, "--repl-diskless-sync-delay", "0", *self.save, *extra)
        log_path = self.log_dir / f"redis-sentinel-{role}.log"
        return ManagedServer(f"redis {role}", argv, port, log_path, node_dir / "server.pid")

    def _sentinel(self, number: int, master_port: int) -> ManagedServer:
        port = free_port()
        sentinel_dir = self.data_dir / f"sentinel-{number}"
        sentinel_dir.mkdir(parents=True, exist_ok=True)
        conf = sentinel_dir / "sentinel.conf"  # rewritten by the sentinel as it learns
        name = self.master_name
        conf.write_text(
            f"bind {LOOPBACK}\nport {port}\ndir {sentinel_dir}\n"
            f"sentinel monitor {name} {LOOPBACK} {master_port} 2\n"
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}\n"
        )
        argv = [find_redis_server(), str(conf), "--sentinel"]
        log_path = self.log_dir / f"redis-sentinel-{number}.log"
        return ManagedServer(
            f"redis sentinel {number}", argv, port, log_path, sentinel_dir / "server.pid"
        )

    @property
    def sentinel_addresses(self) -> list[str]:
        """host:port of every sentinel, for REDIS_SENTINELS."""
        return [f"{LOOPBACK}:{sentinel.port}" for sentinel in self.sentinel_nodes]

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start everything; return when the replica is synced and every sentinel knows the
        master, its replica and the other sentinels. EmbeddedError (all stopped) at `timeout`."""
        self._start_all(self.redis_nodes)
        try:
            # Sentinels first ask the master for its replicas when they connect, then every
            # 10 s: a replica already linked is found at once.
            wait_for(lambda: replica_synced(self.redis_nodes[1].port), "no replica", timeout)
            self._start_all(self.sentinel_nodes)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until every running sentinel sees a master that is not down with a replica
        and the other sentinels, and that replica's link to it is up."""
        others = len(self.sentinel_nodes) - 1

        def ready() -> bool:
            for sentinel in self.sentinel_nodes:
                with redis_client(sentinel.port) as client:
                    state: dict[str, Any] = client.sentinel_master(self.master_name)  # type: ignore[assignment]
                if not state["is_master"] or state["is_sdown"] or state["is_odown"]:
                    return False
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < others:
                    return False
            master = self.master()
            return all(replica_synced(n.port) for n in self.redis_nodes if n is not master)

        wait_for(ready, "the Sentinel group was not ready", timeout)

    def master(self) -> ManagedServer:
        """The node that the running sentinels' majority names master now."""
        votes: dict[int, int] = {}
        for sentinel in self.sentinel_nodes:
            if sentinel.running:
                with suppress(redis.RedisError), redis_client(sentinel.port) as client:
                    address = client.sentinel_get_master_addr_by_name(self.master_name)
                    if isinstance(address, tuple):  # None: this sentinel knows no such master
                        votes[address[1]] = votes.get(address[1], 0) + 1
        if not votes:
            raise EmbeddedError("no running sentinel names a master")
        port = max(votes, key=lambda p: votes[p])
        return next(node for node in self.redis_nodes if node.port == port)

    def flush(self) -> None:
        """Empty the master (FLUSHALL; its replica follows)."""
        with redis_client(self.master().port) as client:
            client.flushall()

    def replica(self) -> ManagedServer:
        """The Redis node that is not the master now."""
        master = self.master()
        return next(node for node in self.redis_nodes if node is not master)
