"""A loopback TCP proxy for fault injection, on the running asyncio loop.

It forwards 127.0.0.1:<port> to 127.0.0.1:<target port>, and can be switched at run time:

- ``pass``: forward both ways.
- ``latency``: deliver each chunk, in both directions, ``latency_ms`` after it was read.
- ``blackhole``: accept and read, but never forward nor answer; existing connections go
  silent too, and a connection accepted in this mode stays a sink for its whole life.
- ``reset``: abort existing and new connections with an RST (SO_LINGER 0, then close).
- ``refuse``: stop listening, so that connects are refused, and drop the existing
  connections as a stopped server would (FIN); listen again on the same port when switched
  to any other mode.

``aclose()`` closes every socket the proxy opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 2.0
CLOSE_TIMEOUT = 2.0


class Mode(enum.StrEnum):
    PASS = "pass"
    LATENCY = "latency"
    BLACKHOLE = "blackhole"
    RESET = "reset"
    REFUSE = "refuse"


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    """One accepted client connection and, unless it is a sink, its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client, self.upstream) if w is not None]

    def close(self, *, rst: bool) -> None:
        for writer in self.writers():
            if rst:
                _abort_with_rst(writer)
            else:
                writer.close()


class FaultProxy:
    def __init__(self, target_port: int, *, listen_port: int = 0) -> None:
        self.target_port = target_port
        self._port = listen_port
        self._mode = Mode.PASS
        self._latency = 0.0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.accepted = 0  # connections accepted, whatever became of them

    @property
    def port(self) -> int:
        return self._port

    @property
    def mode(self) -> Mode:
        return self._mode

    def url(self, scheme: str, suffix: str = "/") -> str:
        return f"{scheme}://{LOOPBACK}:{self._port}{suffix}"

    async def start(self) -> FaultProxy:
        await self._listen()
        return self

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def set_mode(self, mode: Mode | str, latency_ms: float = 0) -> None:
        mode = Mode(mode)
        if self._closed:
            raise RuntimeError("the proxy is closed")
        if mode is Mode.LATENCY and latency_ms <= 0:
            raise ValueError("latency mode needs latency_ms > 0")
        self._latency = latency_ms / 1000 if mode is Mode.LATENCY else 0.0
        self._mode = mode
        if mode is Mode.RESET:
            self._drop_links(rst=True)
        elif mode is Mode.REFUSE:
            await self._stop_listening(then_drop=lambda: self._drop_links(rst=False))
        elif self._server is None:
            await self._listen()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        links = list(self._links)
        await self._stop_listening(then_drop=lambda: self._drop_links(rst=True))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Wait until every transport has really closed its socket.
        for link in links:
            for writer in link.writers():
                await _quietly(writer.wait_closed())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, LOOPBACK, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self, then_drop: Callable[[], None]) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Before waiting: from Python 3.12 on, wait_closed() also waits for the connections.
        then_drop()
        if server is not None:
            await _quietly(server.wait_closed())

    def _drop_links(self, *, rst: bool) -> None:
        for link in list(self._links):
            link.close(rst=rst)
            for task in link.tasks:
                task.cancel()
        self._links.clear()

    def _spawn(self, link: _Link, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        link.tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(link.tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        this = asyncio.current_task()
        assert this is not None
        self._tasks.add(this)
        link = _Link(writer)
        try:
            await self._connect(link, reader)
        except asyncio.CancelledError:
            # aclose() while connecting. Not re-raised: asyncio's stream callback would log
            # the cancelled task as an error.
            link.close(rst=True)
        finally:
            self._tasks.discard(this)

    async def _connect(self, link: _Link, reader: asyncio.StreamReader) -> None:
        writer = link.client
        if self._closed or self._mode in (Mode.RESET, Mode.REFUSE):
            _abort_with_rst(writer)
            return
        self._links.add(link)
        if self._mode is Mode.BLACKHOLE:
            self._spawn(link, self._sink(link, reader))
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(LOOPBACK, self.target_port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            self._links.discard(link)
            _abort_with_rst(writer)
            return
        link.upstream = up_writer
        if link not in self._links:  # dropped by a mode change while connecting
            link.close(rst=True)
            return
        self._spawn(link, self._pipe(link, reader, up_writer))
        self._spawn(link, self._pipe(link, up_reader, writer))

    async def _sink(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(CHUNK):
                pass
        except OSError:
            pass
        finally:
            self._finish(link)

    async def _pipe(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Reads from one side and writes to the other, each chunk when it falls due."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = asyncio.ensure_future(self._deliver(link, queue, writer))
        try:
            while True:
                data = await reader.read(CHUNK)
                if self._mode is Mode.BLACKHOLE:
                    if not data:
                        break
                    continue
                queue.put_nowait((time.monotonic() + self._latency, data))
                if not data:
                    await deliver  # the data read before the end first
                    break
        except OSError:
            pass
        finally:
            deliver.cancel()
            await _quietly(deliver)
            self._finish(link)

    async def _deliver(
        self, link: _Link, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                due, data = await queue.get()
                if not data:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        self._finish(link)

    def _finish(self, link: _Link) -> None:
        """One side ended: end the whole connection, as a plain close."""
        if link in self._links:
            self._links.discard(link)
            link.close(rst=False)
            for task in link.tasks:
                if task is not asyncio.current_task():
                    task.cancel()


async def _quietly(awaitable: Awaitable[object]) -> None:
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(awaitable, CLOSE_TIMEOUT)
