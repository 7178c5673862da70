"""Requests whose body never arrives whole (the client leaves, or is too slow) leave nothing in
flight: a stop after them is immediate and finds 0 requests to wait for. Nor does a connection
closed in stages after a malformed head outlive a stop."""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

from tests.integration.test_server_process import Service, get_json
from tests.integration.test_server_process import start_service as start_service
from tests.support.in_flight import wait_for_in_flight

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
# The requests above that stay in flight until their body comes; the last one is answered.
AWAITING_BODY = PARTIAL_REQUESTS[:-1]
ANSWERED_AT_ONCE = PARTIAL_REQUESTS[-1]


def read_answer(client: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


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
    waiting = [send_and_stall(service, request) for request in AWAITING_BODY]
    try:
        # Each client leaves only once the server is handling its request.
        wait_for_in_flight(service.url("/metrics"), len(AWAITING_BODY))
        with send_and_stall(service, ANSWERED_AT_ONCE) as answered:
            assert read_answer(answered).startswith(b"HTTP/1.1 413 ")
    finally:
        for client in waiting:
            client.close()
    wait_for_in_flight(service.url("/metrics"), 0)
    assert get_json(service.url("/healthz"))[0] == 200
    assert_stopped_with_nothing_in_flight(*stop_output(service))


def test_a_body_that_times_out_leaves_nothing_in_flight(start_service: Any) -> None:
    service = start_service(
        "--embedded", SHUTDOWN_GRACE_SECONDS="30", HTTP_BODY_TIMEOUT_SECONDS="1"
    )
    service.wait_ready()
    stalled = [send_and_stall(service, request) for request in PARTIAL_REQUESTS]
    try:
        for client in stalled:
            # The server ends each connection: at once after the 413, else once its body
            # time is up.
            client.settimeout(30)
            read_answer(client)
        wait_for_in_flight(service.url("/metrics"), 0)  # else the stop would wait 30 s
        assert_stopped_with_nothing_in_flight(*stop_output(service))
    finally:
        for client in stalled:
            client.close()


def test_a_stop_lets_a_staged_close_after_a_malformed_head_finish(start_service: Any) -> None:
    service = start_service("--embedded", SHUTDOWN_GRACE_SECONDS="30")
    service.wait_ready()
    # A head over HTTP_MAX_HEADER_BYTES (16 KB) is answered 431, then its connection closed in
    # stages: the server reads and drops what still comes, for up to 2 s. A stop meanwhile
    # lets that finish: the client goes on sending after the stop began, and then reads the
    # end of the connection, not a reset (the server closing with its data unread).
    with send_and_stall(service, HEAD + b"X-Filler: " + b"a" * (32 << 10)) as client:
        answer = client.recv(65536)
        assert answer.startswith(b"HTTP/1.1 431 "), answer
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        for _ in range(6):
            time.sleep(0.05)
            client.sendall(b"b" * 4096)
        client.shutdown(socket.SHUT_WR)
        assert read_answer(client) == b""
        assert service.process.wait(10) == 0
        elapsed = time.monotonic() - started
    assert service.process.stdout is not None
    assert_stopped_with_nothing_in_flight(elapsed, service.process.stdout.read().decode())
