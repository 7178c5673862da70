"""What redis-py leaves behind when a Redis node dies or stops answering under it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

Test = TypeVar("Test", bound=Callable[..., Any])

# redis-py 8.x loses track of some connections when a node it uses dies or is paused: the
# Cluster client drops a node it replaced without closing its connections, and Sentinel, asked
# for the master by several commands at once while it is down, loses about one connection to a
# sentinel per command, with their asyncio transports (plain `Sentinel(...).master_for(...)` and
# `RedisCluster` do the same).
# The garbage collector closes them and warns, whenever it runs: some stay referenced
# past the test's end. So a test that kills or pauses a node ignores those
# warnings, collects at its end (fixture `lost_redis_connections`) and is marked
# `redis_node_failure`: `make test` runs these tests in a pytest session of their own, where
# a late warning lands in another such test, never in one that checks for unclosed sockets.
LOST_REDIS_CONNECTIONS = (
    r"ignore:Exception ignored in. <(function "
    r"(AbstractConnection|StreamWriter|ClusterNode|_SelectorTransport)\.__del__|socket)"
    ":pytest.PytestUnraisableExceptionWarning"
)

# What a test that kills or pauses Redis nodes is marked with (a module's pytestmark, or each).
REDIS_NODE_FAILURE = [
    pytest.mark.filterwarnings(LOST_REDIS_CONNECTIONS),
    pytest.mark.usefixtures("lost_redis_connections"),
    pytest.mark.redis_node_failure,
]


def kills_redis_nodes(test: Test) -> Test:
    """`test` marked with REDIS_NODE_FAILURE: for a test in a module of other tests."""
    for mark in REDIS_NODE_FAILURE:
        test = mark(test)
    return test
