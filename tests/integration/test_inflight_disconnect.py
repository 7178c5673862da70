"""Requests whose body never arrives whole (the client leaves, or is too slow) leave nothing in
flight: a stop after them is immediate and finds 0 requests to wait for."""

from __future__ import annotations

import socket
import time
from typing import Any

from tests.integration.test_server_process import Service, get_json
from tests.integration.test_server_process import start_service as start_service

HEAD = b"POST /register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
# Each a request whose body stops short: a declared length, a chunked body, a body to a route
# that takes none, and a login (another handler) cut inside its first chunk.
PARTIAL_REQUESTS = (
    HEAD + b'Content-Length: 100\r\n\r\n{"username": "half',
    HEAD + b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"username": "',
    b"GET /fact?n=5 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345",
    b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b'Transfer-Encoding: chunked\r\n\r\n40\r\n{"user',
    # Answered (413) before its body, then refused by Tornado: nothing may be left waiting.
    HEAD + b"Content-Length: 100000000\r\n\r\n",
)


def send_and_leave(service: Service, request: bytes) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as client:
        client.sendall(request)
        time.sleep(0.05)  # the server reads the headers and starts the request


def send_and_stall(service: Service, request: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    client.sendall(request)
    return client


def stop_output(service: Service) -> tuple[float, str]:
    started = time.monotonic()
    assert service.stop() == 0
    elapsed = time.monotonic() - started
    assert service.process.stdout is not None
    return elapsed, service.process.stdout.read().decode()


def assert_stopped_with_nothing_in_flight(elapsed: float, output: str) -> None:
    assert "stopping: 0 request(s) in flight" in output, output
    assert "aborting" not in output
    for warning in ("Task was destroyed", "Traceback", "never retrieved"):
        assert warning not in output
    assert elapsed < 10, "the 30 s grace period was not waited for"


def test_a_stop_after_clients_left_mid_body_is_immediate(start_service: Any) -> None:
    service = start_service("--embedded", SHUTDOWN_GRACE_SECONDS="30")
    service.wait_ready()
    for request in PARTIAL_REQUESTS:
        send_and_leave(service, request)
    time.sleep(0.3)
    assert get_json(service.url("/healthz"))[0] == 200
    assert_stopped_with_nothing_in_flight(*stop_output(service))


def test_a_body_that_times_out_leaves_nothing_in_flight(start_service: Any) -> None:
    service = start_service(
        "--embedded", SHUTDOWN_GRACE_SECONDS="30", HTTP_BODY_TIMEOUT_SECONDS="1"
    )
    service.wait_ready()
    stalled = [send_and_stall(service, request) for request in PARTIAL_REQUESTS]
    time.sleep(2.0)  # the server closes each connection when its body time is up
    try:
        assert_stopped_with_nothing_in_flight(*stop_output(service))
    finally:
        for client in stalled:
            client.close()
