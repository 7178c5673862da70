"""A stop loses no request: /readyz fails first while the service serves on for
SHUTDOWN_DRAIN_SECONDS, every answer from then on closes its kept-alive connection, idle ones
close with the listener, and the process exits once nothing is under way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from factsvc.embedded import ManagedServer, free_port, mongodb_uri
from factsvc.listener_close import HANDSHAKE_SECONDS
from tests.integration.test_server_process import Service, get_json, post_json
from tests.support.in_flight import wait_for_in_flight
from tests.support.keepalive_load import KeepAliveLoad
from tests.support.polling import eventually
from tests.support.processes import end_process, serve_environment
from tests.support.servers import STRONG_SECRET, redis_url

# Long enough for what each test does during the drain, on a slow machine too.
DRAIN = 3.0
GRACE = 5.0


class StoppingService(Service):
    """A service whose output is read all along (under load the access log would fill the
    pipe and block it), for reading once it has exited."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, data: Path) -> None:
        super().__init__(process, port, data)
        self._lines: list[bytes] = []
        self._reader = threading.Thread(target=self._read_output)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self._lines.append(line)

    def output(self) -> str:
        """All it wrote; it must have exited."""
        assert self.process.poll() is not None
        self._reader.join(10)
        assert not self._reader.is_alive(), "its output did not end"
        return b"".join(self._lines).decode()

    def wait_for_output(self, text: str, count: int = 1, timeout: float = 10.0) -> None:
        """Return once it has written `text` `count` times; AssertionError if it has not
        within `timeout` seconds."""
        eventually(
            lambda: b"".join(list(self._lines)).decode().count(text),
            timeout,
            f"{text!r} written {count} time(s)",
            pause=0.02,
            accept=lambda seen: seen >= count,
        )

    def exit_status(self, timeout: float) -> int:
        """Its exit status, once it exits within `timeout` seconds; else it is killed and the
        AssertionError shows the end of its output."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            output = self.output()[-4000:]
            raise AssertionError(f"still running after {timeout} s:\n{output}") from None


Starter = Callable[..., StoppingService]


@pytest.fixture
def start_production(
    tmp_path: Path, redis_backend: ManagedServer, mongo_backend: ManagedServer
) -> Iterator[Starter]:
    """Starts `factsvc serve` outside DEBUG on the suite's Redis and MongoDB-compatible server
    (embedded backends would add their own start and stop to the timings), in a session of
    its own if asked, as a terminal's foreground job is; stops what is left by its pid."""
    started: list[StoppingService] = []

    def start(*, new_session: bool = False, **env: str) -> StoppingService:
        port = free_port()
        environ = serve_environment(
            tmp_path,
            port,
            **{
                "DEBUG": "false",
                "SESSION_COOKIE_SECRET": STRONG_SECRET,
                "REDIS_URL": redis_url(redis_backend),
                "MONGODB_URI": mongodb_uri(mongo_backend.port),
                "MONGODB_NAME": f"test_{uuid.uuid4().hex[:16]}",
                "SHUTDOWN_DRAIN_SECONDS": str(DRAIN),
                "SHUTDOWN_GRACE_SECONDS": str(GRACE),
            }
            | env,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "factsvc", "serve"],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
        service = StoppingService(process, port, tmp_path)
        started.append(service)
        service.wait_ready()
        return service

    yield start
    for service in started:
        end_process(service.process, DRAIN + GRACE + 5)
        service.output()


def wait_for_readyz(service: Service, status: int, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (answer := get_json(service.url("/readyz")))[0] != status:
        assert time.monotonic() < deadline, answer
        time.sleep(0.05)
    return answer[1]


def kept_alive(service: Service) -> socket.socket:
    """A connection on which one request was answered and which the server keeps open."""
    client = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    head, _ = exchange(client, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"Connection: close" not in head
    return client


def exchange(client: socket.socket, request: bytes) -> tuple[bytes, bytes]:
    """Send `request`; the answer's head and body (by Content-Length)."""
    client.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        assert chunk, f"the connection ended before the answer: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = client.recv(65536)
        assert chunk, "the connection ended inside the answer"
        body += chunk
    return head, body


def ends_at(client: socket.socket) -> float:
    """When the server closes `client` (time.monotonic()), which sends nothing more."""
    assert client.recv(65536) == b""
    return time.monotonic()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_sigterm_under_keep_alive_load_answers_every_request_sent(
    start_production: Starter, processes: str
) -> None:
    service = start_production(TORNADO_SERVER_NUMPROCS=processes)
    with KeepAliveLoad(service.port, "/fact?n=100", connections=8) as load:
        load.wait_for_answers(200)
        signalled = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        assert wait_for_readyz(service, 503)["dependencies"]["process"] == "stopping"
        load.wait_for_answers(100)  # while /readyz fails, the service still serves
        assert get_json(service.url("/readyz"))[0] == 503, "and still accepts"
        assert time.monotonic() - signalled < DRAIN
        assert service.exit_status(DRAIN + GRACE) == 0
        elapsed = time.monotonic() - signalled
        time.sleep(0.2)  # the load goes on, refused, after the listener closed
    result = load.result
    assert result.lost == [], f"{result}, signalled at {signalled:.3f}:\n{service.output()}"
    assert result.sent == result.answered == result.statuses[200]
    assert result.closing > 0, "answers during the stop say Connection: close"
    assert result.refused > 0, "the load went on past the listener's close"
    # A stop that waited out its grace would take DRAIN + HANDSHAKE_SECONDS + GRACE.
    assert DRAIN <= elapsed < DRAIN + 3.0, "it drained, then found nothing left to wait for"
    output = service.output()
    assert output.count("stopped accepting") == int(processes)
    for unwanted in ("aborting", "Traceback", "Task was destroyed"):
        assert unwanted not in output


def test_an_answer_under_way_when_the_stop_begins_closes_its_connection(
    start_production: Starter,
) -> None:
    service = start_production(BCRYPT_ROUNDS="10", TORNADO_SERVER_NUMPROCS="1")
    body = {"username": "slowpoke", "password": "correct horse battery"}
    assert post_json(service.url("/register"), body, {})[0] == 201
    payload = orjson.dumps(body)
    login = (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    with kept_alive(service) as client:
        # The login is read but for its last byte, so in flight, when the stop begins; that
        # byte comes once the stop has begun (and no other request was under way then).
        client.sendall(login[:-1])
        wait_for_in_flight(service.url("/metrics"), 1)
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_output("stopping: 1 request(s) in flight")
        head, _ = exchange(client, login[-1:])
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close" in head
        ends_at(client)
        assert get_json(service.url("/readyz"))[0] == 503, "closed before the listener"
    assert service.exit_status(DRAIN + GRACE) == 0


def test_kept_alive_connections_close_after_their_next_answer_or_with_the_listener(
    start_production: Starter,
) -> None:
    service = start_production()
    with kept_alive(service) as used, kept_alive(service) as idle:
        signalled = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        wait_for_readyz(service, 503)
        head, _ = exchange(used, b"GET /fact?n=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close" in head
        ends_at(used)
        assert get_json(service.url("/readyz"))[0] == 503, "closed after its answer, not later"
        closed = ends_at(idle) - signalled
        # The listener closes HANDSHAKE_SECONDS after the drain; an idle connection kept open
        # would last HTTP_IDLE_TIMEOUT_SECONDS (60 s), or be cut when the GRACE (5 s) is over.
        assert DRAIN <= closed < DRAIN + HANDSHAKE_SECONDS + 2.0, "closed with the listener"
    assert service.exit_status(GRACE) == 0
    assert "aborting" not in service.output()


def test_a_second_ctrl_c_in_a_terminal_ends_the_drain(start_production: Starter) -> None:
    # A terminal sends Ctrl-C's SIGINT to its foreground job's process group: the parent,
    # which forwards SIGTERM, and each of the two workers.
    service = start_production(
        new_session=True, TORNADO_SERVER_NUMPROCS="2", SHUTDOWN_DRAIN_SECONDS="60"
    )
    os.killpg(service.process.pid, signal.SIGINT)
    service.wait_for_output("stopping: ", count=2)  # each worker has taken the first
    assert get_json(service.url("/readyz"))[0] == 503
    assert get_json(service.url("/healthz"))[0] == 200, "one Ctrl-C: still draining"
    interrupted = time.monotonic()
    os.killpg(service.process.pid, signal.SIGINT)
    assert service.exit_status(GRACE) == 0
    # Not the 60 s drain: what a stop takes once it no longer drains, with room to spare.
    assert time.monotonic() - interrupted < 4.0
    assert service.output().count("interrupted again: no longer draining") == 2
