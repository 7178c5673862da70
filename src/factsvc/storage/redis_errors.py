"""The one place where redis-py's errors become domain errors."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from redis.exceptions import RedisClusterException, RedisError

from factsvc.errors import DependencyUnavailable, FactsvcError

# What counts as Redis failing: every redis-py error, and the OSError a socket can raise
# beneath it. redis-py's Cluster client raises some outside RedisError (5.0.1 to 8.1):
# RedisClusterException and its subclasses SlotNotCoveredError (a slot no node serves),
# CrossSlotTransactionError and InvalidPipelineStack (6.2 on); it raises RedisClusterException
# itself when no startup node answers or the node is not in cluster mode. Sentinel's
# MasterNotFoundError, and ClusterDownError, MasterDownError, MovedError, TryAgainError and
# MaxConnectionsError are RedisErrors.
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)

Translate = Callable[[BaseException], FactsvcError]


def unavailable(_: BaseException) -> DependencyUnavailable:
    """The error for any Redis failure met by sessions and rate limits: a 503 for the client."""
    return DependencyUnavailable({"redis": "unavailable"})


class RedisErrors:
    """Context manager: a Redis failure (REDIS_FAILURES) raised inside it leaves as
    `translate(failure)`, with the failure as its `__cause__`; anything else passes unchanged.

    A class rather than a generator-based context manager: it wraps every cache lookup of
    /fact, and costs two plain method calls."""

    __slots__ = ("_translate",)

    def __init__(self, translate: Translate = unavailable) -> None:
        self._translate = translate

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        failure: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(failure, REDIS_FAILURES):
            raise self._translate(failure) from failure


# Stateless, so one instance serves every adapter and every concurrent request.
redis_errors = RedisErrors()
