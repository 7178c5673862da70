"""`python -m factsvc.cluster` (make cluster): the cluster on loopback until Ctrl-C or SIGTERM.

Prints what runs where, then watches: when a part exits by itself the cluster stops (status
1); a stop signal stops every part it started, by pid (status 0).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from factsvc.cluster.topology import Cluster
from factsvc.config import ConfigError
from factsvc.embedded import LOOPBACK, EmbeddedError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WATCH_INTERVAL_SECONDS = 0.5


class Stop(Exception):
    """A stop signal arrived."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def describe(cluster: Cluster) -> str:
    """What runs where: one line a process, with its pid, port and log."""
    lines = [f"factsvc cluster: http://{LOOPBACK}:{cluster.port}/"]
    for part in cluster.parts():
        pid = part.process.pid if part.process is not None else "-"
        lines.append(
            f"  {part.name:<28} {LOOPBACK}:{part.port:<6} pid {pid:<8} log {part.log_path}"
        )
    if cluster.state_redis is not None:
        masters = cluster.state_redis.masters_now()
        replicas = [node for node in cluster.state_redis.nodes if node not in masters]
        lines.append(
            "  state: a Redis Cluster (REDIS_TOPOLOGY=cluster), masters on ports "
            f"{', '.join(str(node.port) for node in masters)}, replicas on "
            f"{', '.join(str(node.port) for node in replicas)}; the factorial cache: "
            f"its own redis-server on port {cluster.cache_redis.port}"
        )
    lines += [
        f"  instances: {cluster.instance_count} x {cluster.processes} processes, "
        f"PATH_DATA {cluster.settings.path_data}; nginx's access log: "
        f"{cluster.log_dir / 'nginx-access.log'}; its proxy cache: "
        f"{cluster.nginx_cache_dir or 'none (--no-proxy-cache)'}",
        "Ctrl-C or SIGTERM stops them all.",
    ]
    return "\n".join(lines)


def run(cluster: Cluster) -> int:
    """Start `cluster`, print it, watch it until a stop signal or a part's exit."""
    for sig in STOP_SIGNALS:
        # Set explicitly: a shell that starts us in the background ignores SIGINT.
        signal.signal(sig, _raise_stop)
    try:
        cluster.start()
        print(describe(cluster), flush=True)
        while not (exited := cluster.exited()):
            time.sleep(WATCH_INTERVAL_SECONDS)
        for part in exited:
            print(f"factsvc cluster: {part.name} exited; see {part.log_path}", file=sys.stderr)
        return 1
    except Stop as stop:
        print(f"factsvc cluster: {stop}: stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig in STOP_SIGNALS:
            # A second Ctrl-C must not cut the stop short and leave processes behind.
            signal.signal(sig, signal.SIG_IGN)
        cluster.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m factsvc.cluster", description=__doc__)
    parser.add_argument("--instances", type=int, default=2, help="instances of the service")
    parser.add_argument("--processes", type=int, default=2, help="processes per instance")
    parser.add_argument(
        "--no-proxy-cache", action="store_true", help="nginx keeps no /fact answers"
    )
    args = parser.parse_args(argv)
    try:
        cluster = Cluster(
            os.environ,
            instance_count=args.instances,
            processes=args.processes,
            proxy_cache=not args.no_proxy_cache,
        )
    except ConfigError as error:
        print(f"factsvc cluster: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        return run(cluster)
    except EmbeddedError as error:
        print(f"factsvc cluster: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
