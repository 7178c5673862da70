"""Access lines of a real `factsvc serve`: every answered request has one whole line, through a
stop, from several workers and across a rotation; a stalled log file never holds up requests."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from factsvc.embedded import free_port
from tests.support.polling import eventually
from tests.support.processes import end_process, serve_environment
from tests.support.servers import STRONG_SECRET

pytestmark = pytest.mark.timeout(120)

# The plain format: time, level, [pid], request id, logger, then the access message.
ACCESS_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|ERROR) \[\d+\] (?P<id>\S+) factsvc\.access: "
    r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) \d+\.\dms 127\.0\.0\.1"
)
PRODUCTION = {"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG_SECRET}


class Served:
    """A `factsvc serve --embedded` whose console goes to a file (a pipe nobody reads would
    fill up and stall the console's writer)."""

    def __init__(self, data: Path, **env: str) -> None:
        self.data = data
        self.port = free_port()
        self.console = data / "console.txt"
        with self.console.open("wb") as console:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "factsvc", "serve", "--embedded"],
                env=serve_environment(data, self.port, **env),
                stdout=console,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.console.read_text()
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the service did not become ready")

    def get(self, path: str, request_id: str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers={"X-Request-ID": request_id or "-"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def access_lines(self, name: str = "factsvc.log") -> list[re.Match[str]]:
        """Every line of the log file that names factsvc.access, each parsed whole."""
        text = (self.data / "log" / name).read_text()
        lines = [line for line in text.splitlines() if "factsvc.access" in line]
        matches = [ACCESS_LINE.fullmatch(line) for line in lines]
        assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m][:3]
        return [m for m in matches if m is not None]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for service in started:
        end_process(service.process)


def keep_asking(service: Served, client: int, answered: list[str], stop: threading.Event) -> None:
    """GET /fact on one kept-alive connection (a new one when closed) until refused or told to
    stop; the ids of the requests answered are appended to `answered`."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    number = 0
    while not stop.is_set():
        number += 1
        request_id = f"client-{client}-request-{number}"
        try:
            connection.request(
                "GET", f"/fact?n={number % 50}", headers={"X-Request-ID": request_id}
            )
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            if service.process.poll() is not None:
                return
            try:  # the connection was closed for the stop: a new one is refused once it ends
                connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
                connection.connect()
            except OSError:
                return
            continue
        if response.status == 200:
            answered.append(request_id)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_every_request_answered_up_to_a_stop_has_one_whole_line(
    tmp_path: Path, served: list[Served], sig: signal.Signals
) -> None:
    service = Served(
        tmp_path, **PRODUCTION, TORNADO_SERVER_NUMPROCS="2", SHUTDOWN_DRAIN_SECONDS="0.5"
    )
    served.append(service)
    service.wait_ready()
    answered: list[str] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=keep_asking, args=(service, client, answered, stop))
        for client in range(6)
    ]
    for client in clients:
        client.start()
    eventually(  # enough to tell, over both workers
        lambda: len(answered), 30, "over 500 answered", accept=lambda count: count > 500
    )
    service.process.send_signal(sig)
    assert service.process.wait(30) == 0
    stop.set()
    for client in clients:
        client.join(15)

    logged = [m["id"] for m in service.access_lines() if m["path"] == "/fact"]
    assert len(answered) > 500, "too few requests to tell"
    assert sorted(logged) == sorted(answered), "a request with no line, or with two"
    pids = {line.split()[3] for line in (tmp_path / "log" / "factsvc.log").read_text().splitlines()}
    assert len(pids) >= 2, "both workers wrote to the one file"


def test_a_rotated_log_file_is_reopened(tmp_path: Path, served: list[Served]) -> None:
    service = Served(tmp_path, DEBUG="true")
    served.append(service)
    service.wait_ready()
    before = {f"before-rotation-{number}" for number in range(5)}
    for number in range(5):
        assert service.get(f"/fact?n={number}", f"before-rotation-{number}")[0] == 200
    log_file = tmp_path / "log" / "factsvc.log"
    eventually(  # lines are written in batches, after the answers
        lambda: all(f" {i} factsvc.access: " in log_file.read_text() for i in before),
        10,
        "the lines before the rotation are written",
    )
    os.rename(log_file, tmp_path / "log" / "factsvc.log.1")
    for number in range(5):
        assert service.get(f"/fact?n={number}", f"after-rotation-{number}")[0] == 200
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(30) == 0

    rotated = {m["id"] for m in service.access_lines("factsvc.log.1")}
    reopened = {m["id"] for m in service.access_lines()}
    assert before <= rotated
    assert {f"after-rotation-{n}" for n in range(5)} <= reopened
    assert not any(i.startswith("after") for i in rotated)
    assert not any(i.startswith("before") for i in reopened)


def dropped_file_lines(service: Served) -> float:
    status, body = service.get("/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "factsvc_log_lines_dropped_total" and sample.labels["sink"] == "file":
                return sample.value
    return 0.0


@pytest.mark.parametrize("reader", ["none", "never reads"])
def test_a_stalled_log_file_never_holds_up_requests(
    tmp_path: Path, served: list[Served], reader: str
) -> None:
    """The log file is a FIFO: nobody opens it (opening it for writing blocks), or a reader
    opens it and never reads (writes block once the pipe is full)."""
    (tmp_path / "log").mkdir()
    fifo = tmp_path / "log" / "factsvc.log"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK) if reader == "never reads" else None
    try:
        service = Served(
            tmp_path, **PRODUCTION, TORNADO_SERVER_NUMPROCS="1", LOG_QUEUE_MAX_LINES="100"
        )
        served.append(service)
        service.wait_ready()
        started = time.monotonic()
        for number in range(1500):
            status, _ = service.get(f"/fact?n={number % 30}")
            assert status == 200
        assert time.monotonic() - started < 60, "requests were held up"
        deadline = time.monotonic() + 5  # the counter is sampled twice a second
        while dropped_file_lines(service) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert dropped_file_lines(service) > 0
        stop_began = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(30) == 0
        assert time.monotonic() - stop_began < 15, "the stop waited for the stalled file"
        console = service.console.read_text()
        assert re.search(r"WARNING .* log file: \d+ line\(s\) dropped", console), console[-2000:]
    finally:
        if holder is not None:
            os.close(holder)
