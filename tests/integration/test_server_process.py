"""`factsvc serve` as a real process: embedded backends, workers, logs, signals, bad config."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from factsvc.config.instance_name import default_instance_name
from factsvc.embedded import free_port
from tests.support.in_flight import wait_for_in_flight
from tests.support.processes import end_process, serve_environment
from tests.support.servers import STRONG_SECRET

pytestmark = pytest.mark.timeout(90)


def child_pids(pid: int, marker: str = "") -> set[int]:
    """Direct children of pid whose command line contains `marker`."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = {int(p) for p in children.read_text().split()} if children.exists() else set()
    return {p for p in pids if marker in command_line(p)}


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def embedded_backend_pids(pid: int) -> set[int]:
    return child_pids(pid, "redis-server") | child_pids(pid, "secantus")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


class Service:
    def __init__(self, process: subprocess.Popen[bytes], port: int, data: Path) -> None:
        self.process, self.port, self.data = process, port, data

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stdout and self.process.stdout.read()
            try:
                if get_json(self.url("/readyz"))[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the service did not become ready")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def start(*args: str, **env: str) -> Service:
        port = free_port()
        environ = serve_environment(tmp_path, port, **env)
        process = subprocess.Popen(
            [sys.executable, "-m", "factsvc", "serve", *args],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        service = Service(process, port, tmp_path)
        started.append(service)
        return service

    yield start
    for service in started:
        end_process(service.process)
        if service.process.stdout:
            service.process.stdout.close()


def test_embedded_debug_service_serves_and_stops_cleanly_on_sigterm(start_service: Any) -> None:
    service = start_service("--embedded")
    service.wait_ready()
    backends = embedded_backend_pids(service.process.pid)
    assert len(backends) == 3, "redis-servers for state and cache, a MongoDB-compatible server"
    status, body = get_json(service.url("/fact?n=10"))
    assert (status, body["fact"]) == (200, "3628800")

    assert service.stop(signal.SIGTERM) == 0
    for pid in backends:
        deadline = time.monotonic() + 15
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid), "embedded backends stop with the service"

    log_text = (service.data / "log" / "factsvc.log").read_text()
    assert "GET /fact 200" in log_text
    assert "n=10" not in log_text, "query strings stay out of the access log"
    assert (service.data / default_instance_name(service.port) / "embedded" / "mongo").is_dir()


def answered_fact_requests(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "factsvc_http_requests_total"
        and sample.labels == {"route": "/fact", "method": "GET", "status": "200"}
    )


def test_production_mode_runs_several_workers_and_stops_on_sigint(start_service: Any) -> None:
    service = start_service(
        "--embedded",
        DEBUG="false",
        TORNADO_SERVER_NUMPROCS="2",
        SESSION_COOKIE_SECRET=STRONG_SECRET,
    )
    service.wait_ready()
    children = child_pids(service.process.pid)
    workers = child_pids(service.process.pid, "-m factsvc serve")
    assert len(workers) == 2
    assert len(embedded_backend_pids(service.process.pid)) == 3
    for _ in range(10):
        status, body = get_json(service.url("/fact?n=20"))
        assert (status, body["fact"]) == (200, "2432902008176640000")
    # Each scrape reaches one worker, which reports the requests both workers answered; each
    # worker adds its counts to the shared files twice a second.
    deadline = time.monotonic() + 15
    while (counted := answered_fact_requests(service.url("/metrics"))) < 10:
        assert time.monotonic() < deadline, f"{counted} of 10 requests counted"
        time.sleep(0.1)
    assert counted == 10
    metrics = service.data / default_instance_name(service.port) / "metrics"
    assert any(metrics.iterdir()), "the workers' metric files are in the instance's directory"
    assert service.stop(signal.SIGINT) == 0
    assert not metrics.exists()
    assert not any(alive(pid) for pid in children)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "false"}, "SESSION_COOKIE_SECRET"),
        ({"DEBUG": "false", "SESSION_COOKIE_SECRET": "short"}, "SESSION_COOKIE_SECRET"),
        ({"TORNADO_SERVER_PORT": "http"}, "TORNADO_SERVER_PORT"),
        ({"FACT_MAX_N": "-5"}, "FACT_MAX_N"),
        ({"DEBUG": "maybe"}, "DEBUG"),
    ],
)
def test_a_bad_configuration_stops_the_start_with_the_variable_named(
    start_service: Any, env: dict[str, str], named: str
) -> None:
    service = start_service(**env)
    assert service.process.wait(30) == 2
    assert service.process.stdout is not None
    output = service.process.stdout.read().decode()
    assert named in output
    assert "Traceback" not in output


def test_backends_left_by_a_killed_service_are_stopped_by_the_next_start(
    start_service: Any,
) -> None:
    # The same instance again: its servers' pid files are in its own directory.
    killed = start_service("--embedded", INSTANCE_NAME="restarted")
    killed.wait_ready()
    leftovers = embedded_backend_pids(killed.process.pid)
    assert len(leftovers) == 3
    killed.process.kill()
    killed.process.wait(10)

    again = start_service("--embedded", INSTANCE_NAME="restarted")
    again.wait_ready()
    assert not any(alive(pid) for pid in leftovers)
    assert again.stop() == 0


def post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, orjson.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read()), error.headers


def test_no_password_cookie_or_token_reaches_the_log_files(start_service: Any) -> None:
    service = start_service("--embedded", LOGGING_LOGGER_LEVEL="DEBUG", BCRYPT_ROUNDS="10")
    service.wait_ready()
    canary = "Canary-Pa55word-e81b2d"
    status, _, _ = post_json(
        service.url("/register"), {"username": "canary", "password": canary}, {}
    )
    assert status == 201
    status, body, headers = post_json(
        service.url("/login"), {"username": "canary", "password": canary}, {}
    )
    assert status == 200
    token, cookie = body["token"], headers["Set-Cookie"].split(";")[0]
    auth = {"Authorization": f"Bearer {token}", "Cookie": cookie}
    status, body, _ = post_json(
        service.url("/account/edit"), {"password": canary + "-2", "old_password": canary}, auth
    )
    assert status == 200
    new_token = body["token"]
    post_json(service.url("/login"), {"username": "canary\nFAKE LOG LINE", "password": canary}, {})
    status, _, _ = post_json(service.url("/logout"), {}, {"Authorization": f"Bearer {new_token}"})
    assert status == 200
    assert service.stop() == 0

    logs = "".join(path.read_text() for path in (service.data / "log").glob("*.log"))
    assert "login_succeeded" in logs, "the run must have been logged"
    for secret in (canary, token, new_token, cookie.split("=", 1)[1]):
        assert secret not in logs
    assert not any(line.startswith("FAKE LOG LINE") for line in logs.splitlines())


def test_sigterm_lets_a_request_in_flight_finish_and_refuses_new_ones(start_service: Any) -> None:
    service = start_service("--embedded", BCRYPT_ROUNDS="10", SHUTDOWN_GRACE_SECONDS="20")
    service.wait_ready()
    body = {"username": "slowpoke", "password": "correct horse battery"}
    assert post_json(service.url("/register"), body, {})[0] == 201
    payload = orjson.dumps(body)
    head = (
        b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(payload)
    )
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as login:
        # The login stays in flight, its body short by one byte, until the service refuses
        # new connections: whenever that comes, the login is still under way.
        login.sendall(head + payload[:-1])
        wait_for_in_flight(service.url("/metrics"), 1)
        service.process.send_signal(signal.SIGTERM)
        assert refused_within(service.port, 10.0)
        login.sendall(payload[-1:])
        answer = b""
        while chunk := login.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert service.process.wait(30) == 0
    assert service.process.stdout is not None
    output = service.process.stdout.read().decode()
    assert "stopping: 1 request(s) in flight" in output
    for warning in ("unclosed", "Task was destroyed", "Traceback"):
        assert warning not in output


def refused_within(port: int, timeout: float) -> bool:
    """Whether a connection to `port` is refused within `timeout` seconds. Each one accepted
    meanwhile is closed at once: it sends no request, which the stop would count in flight."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        except ConnectionRefusedError:
            return True
        time.sleep(0.05)
    return False


def test_json_logs_are_one_object_a_line_with_request_ids(start_service: Any) -> None:
    service = start_service("--embedded", LOG_FORMAT="json")
    service.wait_ready()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        service.url("/fact?n=3"), headers={"X-Request-ID": "json-log-check-1"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
    assert service.stop() == 0
    records = [
        orjson.loads(line)
        for line in (service.data / "log" / "factsvc.log").read_text().splitlines()
    ]
    access = [r for r in records if r["logger"] == "factsvc.access" and "/fact" in r["message"]]
    assert access[0]["request_id"] == "json-log-check-1"
    assert {"time", "level", "logger", "process", "message"} <= set(access[0])
