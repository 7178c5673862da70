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
from tests.integration.test_server_process import Service, get_json, post_json
from tests.support.keepalive_load import KeepAliveLoad
from tests.support.processes import end_process, serve_environment
from tests.support.servers import STRONG_SECRET, redis_url

DRAIN = 1.5
GRACE = 5.0


class StoppingService(Service):
    """A service whose output is read all along (under load the access log would fill the
    pipe and block it), for reading once it has exited."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, data: Path) -> None:
        super().__init__(process, port, data)
        self._output = b""
        self._reader = threading.Thread(target=self._read_output)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            self._output = self.process.stdout.read()

    def output(self) -> str:
        """All it wrote; it must have exited."""
        assert self.process.poll() is not None
        self._reader.join(10)
        assert not self._reader.is_alive(), "its output did not end"
        return self._output.decode()

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


def wait_for_readyz(service: Service, status: int, timeout: float = 2.0) -> dict[str, Any]:
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
        assert get_json(service.url("/readyz"))[0] == 503
        assert time.monotonic() - signalled < DRAIN
        assert service.exit_status(DRAIN + GRACE) == 0
        elapsed = time.monotonic() - signalled
        time.sleep(0.2)  # the load goes on, refused, after the listener closed
    result = load.result
    assert result.lost == [], f"{result}, signalled at {signalled:.3f}:\n{service.output()}"
    assert result.sent == result.answered == result.statuses[200]
    assert result.closing > 0, "answers during the stop say Connection: close"
    assert result.refused > 0, "the load went on past the listener's close"
    assert DRAIN <= elapsed < DRAIN + 2.0, "it drained, then found nothing left to wait for"
    output = service.output()
    assert output.count("stopped accepting") == int(processes)
    for unwanted in ("aborting", "Traceback", "Task was destroyed"):
        assert unwanted not in output


def test_an_answer_under_way_when_the_stop_begins_closes_its_connection(
    start_production: Starter,
) -> None:
    # Cost 14: about a second a hash, so that the login is surely in flight at the signal.
    service = start_production(BCRYPT_ROUNDS="14", TORNADO_SERVER_NUMPROCS="1")
    body = {"username": "slowpoke", "password": "correct horse battery"}
    assert post_json(service.url("/register"), body, {})[0] == 201
    payload = orjson.dumps(body)
    login = (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    answers: list[tuple[bytes, bytes]] = []
    with kept_alive(service) as client:
        sender = threading.Thread(target=lambda: answers.append(exchange(client, login)))
        sender.start()
        time.sleep(0.3)
        signalled = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        sender.join(10)
        head, _ = answers[0]
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close" in head
        assert ends_at(client) - signalled < DRAIN, "closed after its answer, not with the rest"
    assert service.exit_status(DRAIN + GRACE) == 0
    assert "stopping: 1 request(s) in flight" in service.output()


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
        assert ends_at(used) - signalled < DRAIN / 2
        closed = ends_at(idle) - signalled
        assert DRAIN <= closed < DRAIN + 0.4, "closed as the listener closes, and no sooner"
    assert service.exit_status(GRACE) == 0


def test_a_second_ctrl_c_in_a_terminal_ends_the_drain(start_production: Starter) -> None:
    # A terminal sends Ctrl-C's SIGINT to its foreground job's process group: the parent,
    # which forwards SIGTERM, and each of the two workers.
    service = start_production(
        new_session=True, TORNADO_SERVER_NUMPROCS="2", SHUTDOWN_DRAIN_SECONDS="60"
    )
    os.killpg(service.process.pid, signal.SIGINT)
    wait_for_readyz(service, 503)
    time.sleep(0.5)
    assert get_json(service.url("/healthz"))[0] == 200, "one Ctrl-C: still draining"
    interrupted = time.monotonic()
    os.killpg(service.process.pid, signal.SIGINT)
    assert service.exit_status(GRACE) == 0
    assert time.monotonic() - interrupted < 2.0
    assert service.output().count("interrupted again: no longer draining") == 2
