"""Which redis-py errors become which domain errors, with the driver's error kept as the cause."""

from __future__ import annotations

import pytest
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import (
    ClusterDownError,
    MaxConnectionsError,
    MovedError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from factsvc.errors import CacheUnavailable, DependencyUnavailable
from factsvc.storage.redis_errors import RedisErrors, redis_errors


@pytest.mark.parametrize(
    "failure",
    [
        RedisConnectionError("refused"),
        RedisTimeoutError("Timeout reading from socket"),
        ResponseError("LOADING Redis is loading the dataset in memory"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError("timed out"),
        # Redis Cluster's, some of them outside RedisError:
        RedisClusterException("Redis Cluster cannot be connected. Please provide at least one"),
        SlotNotCoveredError('Slot "866" is not covered by the cluster.'),
        ClusterDownError("The cluster is down"),
        MovedError("866 127.0.0.1:7001"),
        TryAgainError("Multiple keys request during rehashing of slot"),
        MaxConnectionsError("Too many connections"),
        # Sentinel's and a demoted master's:
        MasterNotFoundError("No master found for 'factsvc'"),
        ReadOnlyError("You can't write against a read only replica."),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_redis_failure_becomes_dependency_unavailable_with_its_cause(
    failure: Exception,
) -> None:
    with pytest.raises(DependencyUnavailable) as raised, redis_errors:
        raise failure
    assert raised.value.states == {"redis": "unavailable"}
    assert raised.value.__cause__ is failure


def test_an_error_that_is_not_from_redis_passes_unchanged() -> None:
    bug = KeyError("user_id")
    with pytest.raises(KeyError) as raised, redis_errors:
        raise bug
    assert raised.value is bug


def test_an_adapter_may_choose_the_domain_error() -> None:
    seen: list[BaseException] = []

    def cache_down(failure: BaseException) -> CacheUnavailable:
        seen.append(failure)
        return CacheUnavailable(type(failure).__name__)

    failure = RedisConnectionError("refused")
    with (
        pytest.raises(CacheUnavailable, match="ConnectionError") as raised,
        RedisErrors(cache_down),
    ):
        raise failure
    assert (seen, raised.value.__cause__) == ([failure], failure)
