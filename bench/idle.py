"""The idle-connection scenario: as many kept-alive connections as the file-descriptor limit
allows, each having made one request, held open while hot /fact is measured beside them, and
the service's memory per idle connection."""

from __future__ import annotations

import argparse
import contextlib
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prepare import warm_factorials
from scenarios import HOT, HOT_VALUES, Scenario
from servers import LOOPBACK, Server, start_service
from wrk import Load, Wrk, WrkResult

# Descriptors each side keeps for everything but the idle connections: the service's Redis
# pools (REDIS_MAX_CONNECTIONS, 256 per worker), log files, wrk's connections, the driver's own.
RESERVE = 1000
# Opened this many at a time: below the listen backlog (Tornado's 128), so that no SYN is
# dropped and retried a second later.
BATCH = 64
# The request each idle connection makes once before it waits.
REQUEST_PATH = "/fact?n=10"
SOCKET_TIMEOUT_SECONDS = 30.0
# The service's idle timeout in this scenario: the highest HTTP_IDLE_TIMEOUT_SECONDS accepts,
# far longer than the scenario, so that no idle connection is closed for idling.
IDLE_TIMEOUT_SECONDS = 3600
# After the last connection opens, before memory is read: the workers finish what they do.
SETTLE_SECONDS = 1.0
WARM_UP_SECONDS = 2
# The records' server names: hot on the same service without and beside the idle connections.
WITHOUT = "service, no idle connections"
BESIDE = "service, beside the idle connections"
SERVERS = (WITHOUT, BESIDE)

# record(scenario, result, server name, processes, connections, round)
Record = Callable[[Scenario, WrkResult, str, int, int, int], None]


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (processes it starts inherit
    it); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _ephemeral_ports() -> int | None:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return None
    return high - low + 1


def capacity(open_files_limit: int) -> int:
    """How many idle connections to open: half the file-descriptor limit (the driver and the
    service on one machine each hold one descriptor a connection, and the agreed plan gives
    each side half), less RESERVE, and never more than the ephemeral ports to one server
    address allow."""
    count = open_files_limit // 2 - RESERVE
    ports = _ephemeral_ports()
    if ports is not None:
        count = min(count, ports - RESERVE)
    return max(count, 0)


def _read_answer(sock: socket.socket) -> str:
    """Read one HTTP/1.1 answer with a Content-Length body; its status, or why none came."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return "closed"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ")[1].decode()
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return "closed"
        body += chunk
    return status


@dataclass
class IdleConnections:
    """Connections to LOOPBACK:`port` that each made one request and then wait."""

    host: str
    port: int
    sockets: list[socket.socket] = field(default_factory=list)

    def open(self, count: int) -> dict[str, int]:
        """Open `count` connections, BATCH at a time, each sending one GET REQUEST_PATH and
        reading its answer; the count of each answer's status (or of the error met). A
        connection whose answer is not 200 is closed, not kept."""
        request = f"GET {REQUEST_PATH} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()
        statuses: Counter[str] = Counter()
        while len(self.sockets) < count and sum(statuses.values()) < 2 * count:
            batch = []
            for _ in range(min(BATCH, count - len(self.sockets))):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.settimeout(SOCKET_TIMEOUT_SECONDS)
                try:
                    sock.connect((self.host, self.port))
                    sock.sendall(request)
                except OSError as error:
                    statuses[type(error).__name__] += 1
                    sock.close()
                    continue
                batch.append(sock)
            for sock in batch:
                try:
                    status = _read_answer(sock)
                except OSError as error:
                    status = type(error).__name__
                statuses[status] += 1
                if status == "200":
                    # Non-blocking from now on: a socket with a timeout waits for data even
                    # when asked not to (MSG_DONTWAIT), and still_open() must not wait.
                    sock.setblocking(False)
                    self.sockets.append(sock)
                else:
                    sock.close()
            if not batch:
                break
        return dict(sorted(statuses.items()))

    def still_open(self) -> int:
        """How many have neither been closed by the server nor been sent anything since."""
        count = 0
        for sock in self.sockets:
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                count += 1
                continue
            except OSError:
                continue
            # b"": the server closed it; anything else: an answer nobody asked for.
            del data
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


def _descriptors(pid: int) -> int | None:
    """How many file descriptors process `pid` holds, None if it cannot be read."""
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return None


def _snapshot(service: Server) -> dict[str, Any]:
    """The service's own processes (parent and workers): RSS in KiB and descriptors each."""
    processes = service.service_processes()["service"]
    return {
        "rss_kib": sum(p.rss_kib() or 0 for p in processes),
        "descriptors": {str(p.pid): _descriptors(p.pid) for p in processes},
    }


def measure(
    wrk: Wrk,
    options: argparse.Namespace,
    record: Record,
    *,
    bin_dir: Path,
    work_dir: Path,
    connections: int,
    count: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """A service as the benchmark runs it (its idle timeout IDLE_TIMEOUT_SECONDS), and
    `options.repeat` rounds of: hot at `connections`, then `count` idle connections opened,
    hot beside them, and the idle connections closed. The record: connections asked for, the
    fewest opened and the fewest still open after the hot run of any round, the statuses of
    their requests, and from the first round the seconds to open them and the service's RSS
    and descriptors before and after (later rounds reuse memory the first one freed)."""
    service, _ = start_service(
        bin_dir,
        work_dir,
        processes=options.processes,
        event_loop=options.event_loop,
        bcrypt_rounds=options.bcrypt_rounds,
        extra_env={"HTTP_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT_SECONDS)},
        name="service-idle",
    )
    args = (",".join(map(str, HOT_VALUES)),)

    def hot(seconds: float = options.duration) -> WrkResult:
        return wrk.run(Load(HOT.script, service.url, connections, seconds, options.timeout, args))

    found: dict[str, Any] = {"asked": count, "statuses": Counter()}
    opened, still_open = [], []
    try:
        warm_factorials(service.url, HOT_VALUES)
        hot(WARM_UP_SECONDS)
        for round_number in range(options.repeat):
            record(HOT, hot(), WITHOUT, options.processes, connections, round_number)
            before = _snapshot(service)
            idle = IdleConnections(LOOPBACK, service.port)
            try:
                started = time.monotonic()
                found["statuses"].update(idle.open(count))
                seconds = time.monotonic() - started
                time.sleep(SETTLE_SECONDS)
                opened.append(len(idle.sockets))
                progress(f"{opened[-1]:,} idle connections open in {seconds:.1f} s")
                if round_number == 0:
                    found |= {"open_seconds": round(seconds, 2), "before": before}
                    found["after"] = _snapshot(service)
                record(HOT, hot(), BESIDE, options.processes, connections, round_number)
                still_open.append(idle.still_open())
            finally:
                idle.close()
    finally:
        service.stop()
    return found | {
        "opened": min(opened),
        "still_open": min(still_open),
        "statuses": dict(sorted(found["statuses"].items())),
        "idle_timeout_seconds": IDLE_TIMEOUT_SECONDS,
        "request": f"GET {REQUEST_PATH}",
    }
