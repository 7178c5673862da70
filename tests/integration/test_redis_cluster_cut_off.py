"""A Redis Cluster cut off as a whole (every node paused: connections open, nothing answers),
against real servers: concurrent commands fail together within one pass over the nodes, never
one after another, and the client works again once the nodes answer."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from factsvc.config import Settings
from factsvc.embedded_redis import RedisClusterServers
from factsvc.storage.redis_client import make_redis
from factsvc.storage.redis_errors import REDIS_FAILURES
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test(timeout=90)

CONCURRENT = 6


async def test_concurrent_commands_on_a_cut_off_cluster_fail_together(
    settings: Settings, own_redis_cluster: RedisClusterServers
) -> None:
    first, *others = own_redis_cluster.startup_nodes
    cluster_settings = with_settings(
        settings,
        redis_topology="cluster",
        redis_url=f"redis://{first}/0",
        redis_cluster_nodes=tuple(others),
    )
    client = make_redis(cluster_settings)
    pids = [node.process.pid for node in own_redis_cluster.nodes if node.process is not None]

    async def failure_time(key: str) -> float:
        started = time.monotonic()
        with pytest.raises(REDIS_FAILURES):
            await client.get(key)
        return time.monotonic() - started

    try:
        await client.set("{a}key", "1")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        times = await asyncio.gather(*(failure_time(f"{{k{i}}}key") for i in range(CONCURRENT)))
        print(f"\n{CONCURRENT} commands on a cut-off cluster failed in {sorted(times)} s")
        # One pass over the 6 nodes (a timeout each, a command's own timeout before it): with
        # each command making its own pass after the one before failed, the last took 18.6 s.
        one_pass = (len(pids) + 2) * cluster_settings.redis_timeout_seconds + 1.0
        assert max(times) < one_pass
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 20
    while True:
        try:
            assert await client.get("{a}key") == b"1"
            break
        except REDIS_FAILURES:
            assert time.monotonic() < deadline, "the cluster still failing 20 s after SIGCONT"
            await asyncio.sleep(0.2)
    await client.aclose()
