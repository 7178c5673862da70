"""The clients of Redis Cluster and of a Sentinel's master, each bounded to a number of
commands at once that wait for a place, as the single server's blocking pool does."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from typing import Any

from redis._parsers import AsyncCommandsParser
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from factsvc.config.redis_topology import host_and_port


class CommandSlots:
    """At most `size` commands of one client at once; a command that finds none free waits
    up to `timeout_seconds`, then fails with redis-py's ConnectionError (a Redis failure, like
    a full BlockingConnectionPool's "No connection available.").

    Cluster and Sentinel pools raise MaxConnectionsError at once when full; with `size` equal
    to their `max_connections`, and one connection per command and node, they never fill."""

    __slots__ = ("_semaphore", "_timeout")

    def __init__(self, size: int, timeout_seconds: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._timeout = timeout_seconds

    async def acquire(self) -> None:
        """Take a place, waiting up to the timeout; RedisConnectionError when none came."""
        if not self._semaphore.locked():
            await self._semaphore.acquire()  # a free place is taken without yielding
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise RedisConnectionError(
                f"No connection available: every one busy for {self._timeout:g} s"
            ) from None

    def release(self) -> None:
        """Give back the place taken by `acquire`."""
        self._semaphore.release()


class KeptCommandTable(AsyncCommandsParser):
    """redis-py's table of Redis commands (COMMAND's answer), asked once. redis-py asks again
    every time the client learns the slots, of the cluster's first primary: while that primary
    is down and still listed (until its replica is promoted), every learning failed, and with
    it every command for the other masters too (464 of 1 024 /isLogined in one failover)."""

    async def initialize(self, node: Any = None) -> None:
        if not self.commands:
            await super().initialize(node)
        elif node is not None:
            self.node = node


class BoundedRedisCluster(RedisCluster):
    """A RedisCluster whose commands take a place of `command_slots` while they run, and wait
    for the cluster's slots to be learnt (or learnt again after a MOVED or a lost node) before
    they are sent."""

    def __init__(self, *args: Any, command_slots: CommandSlots, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands_parser = KeptCommandTable()
        self.command_slots = command_slots
        self._learning: asyncio.Future[Any] | None = None

    async def initialize(self, *args: Any, **kwargs: Any) -> BoundedRedisCluster:
        """Learn the slots, once for every command that needs them at the same time: if that
        fails, all of them fail with its error. (redis-py's own lets each waiting command try
        every node in turn after the one before failed: with the cluster's nodes paused or
        cut off, 6 commands failed one after another, the last after 18.6 s.)"""
        if not self._initialize:
            return self
        if self._learning is None or self._learning.done():
            self._learning = asyncio.ensure_future(super().initialize(*args, **kwargs))
            # Retrieved here too, in case every command that awaited it was cancelled.
            self._learning.add_done_callback(
                lambda attempt: attempt.cancelled() or attempt.exception()
            )
        await asyncio.shield(self._learning)
        return self

    async def close_for_good(self) -> None:
        """aclose(), after ending a learning of the slots still under way: left to run, it
        would be destroyed with the loop, its half-open connections to nodes never closed.
        (aclose() alone must not end it: redis-py calls it to make the client learn the slots
        again, after ClusterDownError or MOVED, while other commands wait for that learning.
        Ending it there made 464 of 1 024 commands for the other masters fail while one
        master was down.)"""
        learning = self._learning
        if learning is not None and not learning.done():
            learning.cancel()
            # Its failure path (redis-py's initialize) disconnects every node it reached.
            await asyncio.wait({learning})
        await self.aclose()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await self.command_slots.acquire()
        try:
            if self._initialize:
                # Learn the slots (once for all: initialize) before the command: concurrent
                # first commands of a fresh client otherwise meet startup nodes that
                # initialize() closes under them, some as an AttributeError (a 500), 2 to 9 in
                # 100 here.
                await self.initialize()
            return await super().execute_command(*args, **kwargs)
        finally:
            self.command_slots.release()


# How often a Sentinel master's client asks the sentinels which master they name, while it
# runs commands. A master that Sentinel replaced stays up, taking writes that will be lost,
# until Sentinel reconfigures it as a replica: about 11 s after SENTINEL FAILOVER here.
MASTER_CHECK_SECONDS = 1.0


class FollowingSentinelPool(SentinelConnectionPool):
    """A SentinelConnectionPool that drops a connection to any address but the master's when
    it comes back: once the sentinels name a new master, no command goes to the old one
    (redis-py's own pool re-points only new and idle connections)."""

    async def release(self, connection: Any) -> None:
        if self.master_address is not None and self.master_address != (
            connection.host,
            connection.port,
        ):
            await connection.disconnect()
        await super().release(connection)


class SentinelMaster(Redis):
    """The client of the master a Sentinel group names (a redis.asyncio.Redis on a
    FollowingSentinelPool, as `Sentinel.master_for` builds it: each new connection asks the
    sentinels where the master is), whose commands take a place of `command_slots` while they
    run. While it runs commands it asks the sentinels again every MASTER_CHECK_SECONDS (in
    the background), so that it also leaves a master that is replaced while still up.
    Closing it closes its pool and the sentinels' clients."""

    def __init__(self, *, sentinel: Sentinel, command_slots: CommandSlots, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sentinel_manager = sentinel
        self.command_slots = command_slots
        self._next_check = 0.0
        self._checks: set[asyncio.Future[None]] = set()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + MASTER_CHECK_SECONDS
            check = asyncio.ensure_future(self._follow_master())
            self._checks.add(check)
            check.add_done_callback(self._checks.discard)
        await self.command_slots.acquire()
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        finally:
            self.command_slots.release()

    async def _follow_master(self) -> None:
        # Closes the idle connections when the master changed; the pool drops the others
        # as they come back. Sentinels that cannot answer leave things as they are.
        with suppress(RedisError, OSError):
            await self.connection_pool.get_master_address()  # type: ignore[attr-defined]

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        checks = set(self._checks)
        for check in checks:
            check.cancel()
        if checks:
            # Each ends by closing what it had open; destroyed with the loop instead, it would
            # leave its connection to a sentinel for the garbage collector.
            await asyncio.wait(checks)
        await super().aclose(close_connection_pool=True)
        # Sentinel has no aclose in redis-py 8.0 (8.1 adds one): its clients one by one.
        for client in self.sentinel_manager.sentinels:
            await client.aclose()


def _timeouts(timeout_seconds: float) -> dict[str, Any]:
    return {"socket_timeout": timeout_seconds, "socket_connect_timeout": timeout_seconds}


def _url_options(url: str) -> dict[str, Any]:
    """A redis:// or rediss:// URL's connection options as redis-py reads them (host, port,
    credentials, database, query options), with `ssl` for rediss."""
    options: dict[str, Any] = dict(parse_url(url))
    options.pop("connection_class", None)
    options["ssl"] = url.startswith("rediss://")
    return options


def cluster_client(
    url: str,
    nodes: tuple[str, ...],
    *,
    max_connections: int,
    timeout_seconds: float,
    pool_timeout_seconds: float,
) -> BoundedRedisCluster:
    """A Redis Cluster found from `url`'s node and `nodes` (host:port), with `url`'s
    credentials and TLS on every node; up to `max_connections` per node and commands at once.

    One retry: a command that meets a dead or demoted master asks the startup nodes for the
    slots again and tries once more, so it fails within about two timeouts while the master
    is down and finds its replica once promoted."""
    return BoundedRedisCluster(
        **_url_options(url),
        startup_nodes=[ClusterNode(*host_and_port(node)) for node in nodes],
        max_connections=max_connections,
        retry=Retry(NoBackoff(), retries=1),
        command_slots=CommandSlots(max_connections, pool_timeout_seconds),
        **_timeouts(timeout_seconds),
    )


def sentinel_client(
    url: str,
    sentinels: tuple[str, ...],
    master: str,
    *,
    sentinel_password: str,
    max_connections: int,
    timeout_seconds: float,
    pool_timeout_seconds: float,
) -> SentinelMaster:
    """The master that `sentinels` (host:port) name `master`, reached with `url`'s scheme
    (rediss: TLS, to the sentinels too), credentials and database (its host and port are
    unused); sentinels with AUTH `sentinel_password` unless empty."""
    options = _url_options(url)
    options.pop("host", None)
    options.pop("port", None)
    sentinel_options: dict[str, Any] = {
        **_timeouts(timeout_seconds),
        "ssl": options["ssl"],
        # No retry of its own: finding the master already asks each sentinel in turn. With
        # redis-py's default (3 retries, backoff up to 10 s), sentinels that did not answer
        # (paused) made every command wait 54 to 58 s for its MasterNotFoundError.
        "retry": Retry(NoBackoff(), retries=0),
    }
    if sentinel_password:
        sentinel_options["password"] = sentinel_password
    # redis-py leaves Sentinel and its pool untyped.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        [host_and_port(address) for address in sentinels], sentinel_kwargs=sentinel_options
    )
    pool = FollowingSentinelPool(  # type: ignore[no-untyped-call]
        master,
        sentinel,
        is_master=True,
        max_connections=max_connections,
        # One retry: a command on a connection to a master that has gone (or was demoted:
        # ReadOnlyError, which the pool turns into ConnectionError) asks the sentinels again.
        retry=Retry(NoBackoff(), retries=1),
        **options,
        **_timeouts(timeout_seconds),
    )
    return SentinelMaster(
        connection_pool=pool,
        sentinel=sentinel,
        command_slots=CommandSlots(max_connections, pool_timeout_seconds),
    )
