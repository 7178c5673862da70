"""A Redis Cluster or a Sentinel group cut off as a whole (every node paused: connections
open, nothing answers), against real servers: concurrent commands fail together within one
pass over the nodes (or sentinels), never one after another or after redis-py's backoffs, and
the client works again once the nodes answer."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from factsvc.config import Settings
from factsvc.embedded_redis import RedisClusterServers
from factsvc.embedded_sentinel import RedisSentinelServers
from factsvc.storage.redis_client import make_redis
from factsvc.storage.redis_errors import REDIS_FAILURES
from tests.support.lost_connections import REDIS_NODE_FAILURE
from tests.support.redis_topologies import cluster_settings, sentinel_settings

pytestmark = [pytest.mark.gen_test(timeout=90), *REDIS_NODE_FAILURE]

CONCURRENT = 6


async def test_concurrent_commands_on_a_cut_off_cluster_fail_together(
    settings: Settings, own_redis_cluster: RedisClusterServers
) -> None:
    on_cluster = cluster_settings(settings, own_redis_cluster)
    client = make_redis(on_cluster)
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
        one_pass = (len(pids) + 2) * on_cluster.redis_timeout_seconds + 1.0
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


async def test_commands_under_a_cut_off_sentinel_group_fail_within_a_bound(
    settings: Settings, own_redis_sentinel: RedisSentinelServers
) -> None:
    on_sentinel = sentinel_settings(settings, own_redis_sentinel)
    client = make_redis(on_sentinel)
    pids = [node.process.pid for node in own_redis_sentinel.servers if node.process is not None]

    async def failure_time(key: str) -> float:
        started = time.monotonic()
        with pytest.raises(REDIS_FAILURES):
            await client.get(key)
        return time.monotonic() - started

    try:
        await client.set("key", "1")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        times = await asyncio.gather(*(failure_time(f"k{i}") for i in range(CONCURRENT)))
        print(f"\n{CONCURRENT} commands under a cut-off Sentinel group failed in {sorted(times)} s")
        # A command and its retry, each asking every sentinel once (a timeout each): with
        # redis-py's default retries and backoff on the sentinels' clients, 54 to 58 s.
        sentinels = len(own_redis_sentinel.sentinel_addresses)
        bound = 2 * (sentinels + 1) * on_sentinel.redis_timeout_seconds + 1.0
        assert max(times) < bound
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 20
    while True:
        try:
            assert await client.get("key") == b"1"
            break
        except REDIS_FAILURES:
            assert time.monotonic() < deadline, "still failing 20 s after SIGCONT"
            await asyncio.sleep(0.2)
    await client.aclose()
