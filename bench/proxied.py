"""Hot /fact through nginx, as `make cluster` runs it, in front of one instance and of two, beside
an instance answered directly in the same run: what the proxy costs, and whether it errs."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from factsvc.cluster.topology import Cluster
from factsvc.embedded import LOOPBACK
from prepare import warm_factorials
from scenarios import HOT, HOT_VALUES
from servers import INHERITED_VARIABLES, free_port
from wrk import Load, Wrk, WrkResult

# The servers' names in the records: the first instance answered directly, then nginx.
DIRECT = "instance direct"
THROUGH_ONE = "nginx, 1 instance"
THROUGH_TWO = "nginx, 2 instances"
SERVERS = (DIRECT, THROUGH_ONE, THROUGH_TWO)
WARM_UP_SECONDS = 2

# record(result, server name, processes per instance, connections, round)
Record = Callable[[WrkResult, str, int, int, int], None]


def cluster_env(service_env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """The benchmark's service settings for a cluster under `data_dir` with nginx on a free
    port; the cluster sets the instances' ports, backends and processes itself."""
    inherited = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    return (
        inherited
        | dict(service_env)
        | {
            "PATH_DATA": str(data_dir),
            "TORNADO_SERVER_PORT": str(free_port()),
        }
    )


def measure(
    wrk: Wrk,
    options: argparse.Namespace,
    record: Record,
    *,
    connections: int,
    service_env: Mapping[str, str],
    work_dir: Path,
) -> None:
    """At `connections`: one instance answered directly and through nginx in turn,
    `options.repeat` rounds; then two instances through nginx, as many runs. Every instance
    runs `options.processes` processes."""

    def load(url: str, seconds: float = options.duration) -> Load:
        args = (",".join(map(str, HOT_VALUES)),)
        return Load(HOT.script, url, connections, seconds, options.timeout, args)

    for count in (1, 2):
        cluster = Cluster(
            cluster_env(service_env, work_dir / f"cluster-{count}"),
            instance_count=count,
            processes=options.processes,
        )
        cluster.start()
        try:
            proxied = f"http://{LOOPBACK}:{cluster.port}/"
            warm_factorials(proxied, HOT_VALUES)
            wrk.run(load(proxied, WARM_UP_SECONDS))
            direct = f"http://{LOOPBACK}:{cluster.instances[0].port}/"
            runs = [(direct, DIRECT), (proxied, THROUGH_ONE)] if count == 1 else []
            runs = runs or [(proxied, THROUGH_TWO)]
            for round_number in range(options.repeat):
                for url, name in runs:
                    result = wrk.run(load(url))
                    record(result, name, options.processes, connections, round_number)
        finally:
            cluster.stop()
