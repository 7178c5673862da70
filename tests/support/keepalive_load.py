"""A keep-alive load on a service: several connections, each sending GET requests back to back
as wrk does, that accounts for every request it sent."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

ANSWER_TIMEOUT_SECONDS = 10.0
REFUSED_PAUSE_SECONDS = 0.01


@dataclass
class LoadResult:
    """What became of the requests: `sent` of them, `answered` whole (status line, headers and
    Content-Length's body), `lost` the others with why; `refused` connection attempts (no
    request sent); `closing` answers that said Connection: close."""

    sent: int = 0
    answered: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    refused: int = 0
    closing: int = 0
    last_answer_at: float = 0.0  # time.monotonic()


class KeepAliveLoad:
    """`connections` clients of 127.0.0.1:`port`, each sending GET `path` on one connection
    until an answer says Connection: close (RFC 9112 §9.6), then on a new one, until the load
    stops; a refused connection is tried again after REFUSED_PAUSE_SECONDS. Runs in a thread
    of its own: `with KeepAliveLoad(...) as load:`."""

    def __init__(self, port: int, path: str, connections: int) -> None:
        self.result = LoadResult()
        self._request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        self._port = port
        self._connections = connections
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> KeepAliveLoad:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(ANSWER_TIMEOUT_SECONDS + 5)
        assert not self._thread.is_alive(), "the load did not stop"

    def wait_for_answers(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` more answers have come; AssertionError after `timeout` seconds."""
        target = self.result.answered + count
        deadline = time.monotonic() + timeout
        while self.result.answered < target:
            assert time.monotonic() < deadline, f"{self.result} after {timeout} s"
            time.sleep(0.01)

    async def _run(self) -> None:
        await asyncio.gather(*(self._client() for _ in range(self._connections)))

    async def _client(self) -> None:
        while not self._stopping.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
            except OSError:
                self.result.refused += 1
                await asyncio.sleep(REFUSED_PAUSE_SECONDS)
                continue
            try:
                await self._requests(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests back to back on one connection, until it is to close or the load stops."""
        opened = time.monotonic()
        answers = 0
        while not self._stopping.is_set():
            try:
                writer.write(self._request)
                self.result.sent += 1
                status, closing = await asyncio.wait_for(
                    _read_answer(reader), ANSWER_TIMEOUT_SECONDS
                )
            except (OSError, EOFError, TimeoutError, ValueError) as error:
                self.result.lost.append(
                    f"{type(error).__name__}: {error} (at {time.monotonic():.3f}, after"
                    f" {answers} answer(s) on a connection opened at {opened:.3f})"
                )
                return
            answers += 1
            self.result.answered += 1
            self.result.statuses[status] += 1
            self.result.last_answer_at = time.monotonic()
            if closing:
                self.result.closing += 1
                return


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of the whole answer read, and whether it said Connection: close;
    asyncio.IncompleteReadError (an EOFError) when the connection ends before it does."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    await reader.readexactly(int(headers.get("content-length", "missing")))
    return int(status_line.split()[1]), headers.get("connection", "").lower() == "close"
