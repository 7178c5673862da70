"""Hot and big /fact through nginx, as `make cluster` runs it, its proxy cache off and on, in
front of one instance and of two, beside an instance answered directly in the same run: what
the proxy costs, what its cache saves, and whether either errs."""

from __future__ import annotations

import argparse
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from factsvc.cluster.nginx_process import nginx_server
from factsvc.cluster.topology import Cluster
from factsvc.embedded import LOOPBACK, ManagedServer
from prepare import warm_factorials
from scenarios import BIG, BIG_N, HOT, HOT_VALUES, Scenario
from servers import INHERITED_VARIABLES, free_port
from wrk import Load, Wrk, WrkResult

# The servers' names in the records: the first instance answered directly, then nginx.
DIRECT = "instance direct"
THROUGH_ONE = "nginx, 1 instance"
THROUGH_ONE_CACHED = "nginx, 1 instance, proxy cache"
THROUGH_TWO = "nginx, 2 instances"
THROUGH_TWO_CACHED = "nginx, 2 instances, proxy cache"
SERVERS = (DIRECT, THROUGH_ONE, THROUGH_ONE_CACHED, THROUGH_TWO, THROUGH_TWO_CACHED)
CACHED = (THROUGH_ONE_CACHED, THROUGH_TWO_CACHED)
SCENARIOS = (HOT, BIG)
CACHE_NOTE = (
    "With the proxy cache (as `make cluster` and docker-compose run nginx), nginx keeps /fact "
    "answers as their Cache-Control allows and answers repeated requests itself; without it, "
    "every request reaches an instance. One cluster of two instances: its own nginx (cache on, "
    "both instances), and three more started the same way (cache off, both instances; cache "
    "off and on, the first instance alone)."
)
WARM_UP_SECONDS = 2
# nginx's access log ends each line with cache=$upstream_cache_status (HIT, MISS, ...; "-").
_CACHE_STATUS = re.compile(rb" cache=(\S+)$", re.MULTILINE)

# record(scenario, result, server name, processes per instance, connections, round)
Record = Callable[[Scenario, WrkResult, str, int, int, int], None]


@dataclass(frozen=True)
class Front:
    """One way in: its name in the records, its URL, and nginx's access log (None: direct)."""

    name: str
    url: str
    access_log: Path | None


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


def _url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}/"


def _extra_nginx(cluster: Cluster, name: str, ports: list[int], cached: bool) -> ManagedServer:
    """Another nginx as the cluster starts its own, in front of the instances on `ports`, in a
    directory of its own (its logs in log/ there)."""
    site_dir = cluster.data_dir / f"nginx-{name}"
    return nginx_server(
        cluster.settings,
        port=free_port(),
        upstream_ports=ports,
        site_dir=site_dir,
        log_dir=site_dir / "log",
        cache_dir=site_dir / "cache" if cached else None,
    )


def cache_statuses(access_log: Path) -> dict[str, int]:
    """How many lines of nginx's access log have each cache status."""
    try:
        found = Counter(
            status.decode() for status in _CACHE_STATUS.findall(access_log.read_bytes())
        )
    except OSError:
        return {}
    return dict(sorted(found.items()))


def measure(
    wrk: Wrk,
    options: argparse.Namespace,
    record: Record,
    *,
    connections: int,
    service_env: Mapping[str, str],
    work_dir: Path,
) -> dict[str, dict[str, int]]:
    """At `connections`, for hot and for big: the first instance of a two-instance cluster
    answered directly and through each nginx in turn, `options.repeat` rounds. Every instance
    runs `options.processes` processes. The cache statuses in each cached nginx's access log
    (every request of the runs and warm-ups), by server name."""
    cluster = Cluster(
        cluster_env(service_env, work_dir / "cluster"),
        instance_count=2,
        processes=options.processes,
        proxy_cache=True,
    )
    cluster.start()
    extra: list[ManagedServer] = []
    try:
        first, both = [cluster.instances[0].port], [i.port for i in cluster.instances]
        for name, ports, cached in (
            ("one", first, False),
            ("one-cached", first, True),
            ("two", both, False),
        ):
            extra.append(_extra_nginx(cluster, name, ports, cached))
            extra[-1].start()
            extra[-1].wait_until_listening()
        fronts = [
            Front(DIRECT, _url(first[0]), None),
            Front(THROUGH_ONE, _url(extra[0].port), None),
            Front(THROUGH_ONE_CACHED, _url(extra[1].port), _access_log(extra[1])),
            Front(THROUGH_TWO, _url(extra[2].port), None),
            Front(THROUGH_TWO_CACHED, _url(cluster.port), cluster.log_dir / "nginx-access.log"),
        ]
        _runs(wrk, options, record, connections, fronts)
        return {f.name: cache_statuses(f.access_log) for f in fronts if f.access_log}
    finally:
        for server in extra:
            server.stop()
        cluster.stop()


def _access_log(server: ManagedServer) -> Path:
    # nginx_server writes nginx.log (what nginx prints) beside nginx-access.log.
    return server.log_path.with_name("nginx-access.log")


def _runs(
    wrk: Wrk, options: argparse.Namespace, record: Record, connections: int, fronts: list[Front]
) -> None:
    args = {HOT.name: (",".join(map(str, HOT_VALUES)),), BIG.name: (str(BIG_N),)}

    def load(scenario: Scenario, url: str, seconds: float = options.duration) -> Load:
        return Load(
            scenario.script, url, connections, seconds, options.timeout, args[scenario.name]
        )

    for front in fronts:
        warm_factorials(front.url, [*HOT_VALUES, BIG_N])
    for scenario in SCENARIOS:
        for front in fronts:
            wrk.run(load(scenario, front.url, WARM_UP_SECONDS))
        for round_number in range(options.repeat):
            for front in fronts:
                result = wrk.run(load(scenario, front.url))
                record(scenario, result, front.name, options.processes, connections, round_number)
