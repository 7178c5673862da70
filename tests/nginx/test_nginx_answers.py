"""nginx's own answers, in front of an instance that is down: the limits it shares with the
service (what passes reaches the instance, and so gets 502 here), and the service's envelope
for what nginx refuses or cannot deliver."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from factsvc.cluster.nginx_process import nginx_server
from factsvc.config import Settings
from factsvc.embedded import ManagedServer, free_port
from tests.nginx.loopback_client import Answer, call

LISTED_ORIGIN = "https://app.example.com"
SETTINGS = Settings.from_env(
    {
        "DEBUG": "false",
        "SESSION_COOKIE_SECRET": secrets.token_urlsafe(48),
        "CORS_ORIGINS": LISTED_ORIGIN,
    }
)
MAX_BODY = SETTINGS.http_max_body_bytes
MAX_HEAD = SETTINGS.http_max_header_bytes


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedServer]:
    base: Path = tmp_path_factory.mktemp("nginx")
    # Nothing listens on the upstream port: every request nginx passes on fails to connect.
    server = nginx_server(
        SETTINGS,
        port=free_port(),
        upstream_ports=[free_port()],
        site_dir=base / "site",
        log_dir=base / "log",
    )
    server.start()
    server.wait_until_listening()
    yield server
    server.stop()


def assert_envelope(answer: Answer, status: int, code: int) -> None:
    assert answer.status == status
    assert answer.header("Content-Type") == "application/json; charset=UTF-8"
    assert answer.body["code"] == code
    assert answer.body["message"]
    assert answer.body["request_id"] == answer.header("X-Request-ID")
    assert answer.header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_instance_answering_is_a_502_in_the_envelope(nginx: ManagedServer, method: str) -> None:
    answer = call(nginx.port, method, "/fact?n=5", headers={"X-Request-ID": "client-id-1234"})
    assert_envelope(answer, 502, 10)
    assert answer.body["request_id"] == "client-id-1234"
    assert answer.header("Retry-After") == "1"
    assert answer.body["retry_after"] == 1


def test_a_request_id_the_service_would_not_keep_is_replaced(nginx: ManagedServer) -> None:
    answer = call(nginx.port, "GET", "/fact?n=5", headers={"X-Request-ID": 'a"b'})
    assert_envelope(answer, 502, 10)
    assert answer.body["request_id"] != 'a"b'


def test_a_listed_origin_may_read_nginx_answers(nginx: ManagedServer) -> None:
    listed = call(nginx.port, "GET", "/fact?n=5", headers={"Origin": LISTED_ORIGIN})
    assert listed.header("Access-Control-Allow-Origin") == LISTED_ORIGIN
    assert listed.header("Access-Control-Allow-Credentials") == "true"
    assert "X-Request-ID" in (listed.header("Access-Control-Expose-Headers") or "")
    other = call(nginx.port, "GET", "/fact?n=5", headers={"Origin": "https://evil.example"})
    assert other.header("Access-Control-Allow-Origin") is None
    assert other.header("Vary") == "Origin"


def test_a_body_of_the_service_limit_passes_and_a_larger_one_is_413(nginx: ManagedServer) -> None:
    assert call(nginx.port, "POST", "/login", raw=b"x" * MAX_BODY).status == 502
    assert_envelope(call(nginx.port, "POST", "/login", raw=b"x" * (MAX_BODY + 1)), 413, 3)


def test_an_avatar_of_its_own_limit_passes_and_a_larger_one_is_413(nginx: ManagedServer) -> None:
    limit = SETTINGS.avatar_max_bytes
    upload = {"Content-Type": "image/png"}
    passed = call(nginx.port, "PUT", "/account/avatar", raw=b"x" * limit, headers=upload)
    assert passed.status == 502
    refused = call(nginx.port, "PUT", "/account/avatar", raw=b"x" * (limit + 1), headers=upload)
    assert_envelope(refused, 413, 3)


def test_a_head_within_the_service_limit_passes_and_a_larger_one_is_431(
    nginx: ManagedServer,
) -> None:
    within = {"X-Filler": "f" * (MAX_HEAD - 1024)}
    assert call(nginx.port, "GET", "/fact?n=5", headers=within).status == 502
    over = {"X-Filler": "f" * (MAX_HEAD + 1024)}
    assert_envelope(call(nginx.port, "GET", "/fact?n=5", headers=over), 431, 3)


def test_a_request_line_over_the_limit_is_414(nginx: ManagedServer) -> None:
    assert_envelope(call(nginx.port, "GET", "/fact?n=5&" + "a" * MAX_HEAD), 414, 3)


def test_nginx_own_error_paths_are_not_reachable(nginx: ManagedServer) -> None:
    assert_envelope(call(nginx.port, "GET", "/_nginx_error/502"), 404, 7)
