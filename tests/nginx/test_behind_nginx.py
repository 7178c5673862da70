"""Two instances behind a real nginx: shared sessions and limits, the client's address through
the proxy and never a client's own X-Forwarded-For, and a rolling restart that loses nothing."""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from factsvc.cluster.nginx_config import CONNECT_TIMEOUT_SECONDS, FAIL_TIMEOUT_SECONDS
from factsvc.cluster.topology import Cluster
from factsvc.embedded import LOOPBACK
from factsvc.storage.redis_cache import PLAIN_KEY_PREFIX
from tests.nginx.conftest import (
    CLIENT_MAX_FAILURES,
    instance_logs,
    log_lines,
    nginx_access_log,
)
from tests.nginx.loopback_client import PASSWORD, bearer, call, login
from tests.support import images

pytestmark = pytest.mark.timeout(90)

WRONG_PASSWORD = "not the password at all"
# The cache server evicts by itself: the plain cache, whose keys carry no hash tag.
FACTORIALS = PLAIN_KEY_PREFIX + "*"
ROLLING_SCRIPT = Path(__file__).with_name("rolling.lua")


def request_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


def upstreams_of(cluster: Cluster, ids: list[str]) -> set[str]:
    """The instances (host:port) that nginx's access log names for these request ids."""
    found: set[str] = set()
    for rid in ids:
        for line in log_lines([nginx_access_log(cluster)], f"id={rid}"):
            found.update(re.findall(r"upstream=([\d.:]+)", line))
    return found


def instance_addresses(cluster: Cluster) -> set[str]:
    return {f"{LOOPBACK}:{instance.port}" for instance in cluster.instances}


def mentions(line: str, address: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(address)}(?![\d])", line) is not None


def test_a_session_made_through_one_instance_works_on_the_other(
    cluster: Cluster, username: str
) -> None:
    first, second = cluster.instances
    token = login(first.port, username).body["token"]
    assert call(second.port, "GET", "/account/info", headers=bearer(token)).status == 200

    cookie_login = call(
        first.port,
        "POST",
        "/login",
        {"username": username, "password": "correct horse battery", "session": "cookie"},
    )
    cookie = cookie_login.header("Set-Cookie")
    assert cookie is not None
    on_second = call(second.port, "GET", "/account/info", headers={"Cookie": cookie.split(";")[0]})
    assert on_second.status == 200
    assert on_second.body["user"]["username"] == username

    ids = [request_id("session") for _ in range(4)]
    for rid in ids:
        answer = call(
            cluster.port, "GET", "/account/info", headers=bearer(token) | {"X-Request-ID": rid}
        )
        assert answer.status == 200
        assert answer.header("X-Request-ID") == rid
    assert upstreams_of(cluster, ids) == instance_addresses(cluster)


def served_type(port: int, path: str) -> tuple[int, str | None]:
    """GET `path` from LOOPBACK:`port`: the status and Content-Type (an image, not JSON)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.headers.get("Content-Type")
    finally:
        connection.close()


def test_an_avatar_uploaded_through_nginx_is_served_by_every_instance(
    cluster: Cluster, username: str
) -> None:
    token = login(cluster.port, username).body["token"]
    image = images.noise_png()
    # 1 MiB: past HTTP_MAX_BODY_BYTES, which nginx's own limit is everywhere but here.
    padded = image + bytes((1 << 20) - len(image))
    upload = bearer(token) | {"Content-Type": "image/png"}
    answer = call(cluster.port, "PUT", "/account/avatar", raw=padded, headers=upload)
    assert answer.status == 200, answer.body
    url = answer.body["user"]["avatar_url"]
    for port in (cluster.port, *(instance.port for instance in cluster.instances)):
        assert served_type(port, url) == (200, "image/webp")


def test_the_instances_share_the_cache_server_and_keep_state_apart(
    cluster: Cluster, username: str
) -> None:
    assert login(cluster.port, username, source="127.0.0.51").status == 200
    assert cluster.state_redis is not None
    state = cluster.state_redis.masters_now()
    assert len(state) == 3, "the state is on a Redis Cluster of three masters"
    n = cluster.settings.fact_cache_min_n + 1
    assert call(cluster.port, "GET", f"/fact?n={n}").status == 200
    cache, *clients = [
        redis.Redis(host=LOOPBACK, port=server.port) for server in (cluster.cache_redis, *state)
    ]
    try:
        deadline = time.monotonic() + 15.0  # the value is written back after the answer
        while not cache.keys(FACTORIALS) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.keys(FACTORIALS)
        assert not any(client.keys(FACTORIALS) for client in clients)
        assert sum(client.dbsize() for client in clients) > 0, "sessions live on the masters"
    finally:
        cache.close()
        for client in clients:
            client.close()


def test_failed_logins_count_across_instances(cluster: Cluster, username: str) -> None:
    ids = [request_id("limit") for _ in range(CLIENT_MAX_FAILURES + 2)]
    statuses = [
        login(
            cluster.port,
            username,
            WRONG_PASSWORD,
            source="127.0.0.11",
            headers={"X-Request-ID": rid},
        ).status
        for rid in ids
    ]
    assert statuses == [401] * CLIENT_MAX_FAILURES + [429, 429]
    # Each instance saw only part of the failures: the count is the shared one.
    assert upstreams_of(cluster, ids[:CLIENT_MAX_FAILURES]) == instance_addresses(cluster)
    # The limit is keyed on the client's address, not on nginx's.
    assert login(cluster.port, username, WRONG_PASSWORD, source="127.0.0.12").status == 401


def test_the_client_address_survives_the_proxy(cluster: Cluster, username: str) -> None:
    client = "127.0.0.21"
    rid = request_id("address")
    answer = login(
        cluster.port, username, WRONG_PASSWORD, source=client, headers={"X-Request-ID": rid}
    )
    assert answer.status == 401
    lines = log_lines(instance_logs(cluster), rid)
    security = [line for line in lines if "login_failed" in line]
    access = [line for line in lines if "factsvc.access" in line]
    assert security, lines
    assert access, lines
    for line in security + access:
        assert mentions(line, client), line
        assert not mentions(line, LOOPBACK), line


def test_a_spoofed_x_forwarded_for_is_not_believed(cluster: Cluster, username: str) -> None:
    client = "127.0.0.31"
    spoofed = ["203.0.113.7", "203.0.113.8, 127.0.0.1", "127.0.0.1", "203.0.113.9", "x, y", ""]
    statuses = []
    for forwarded in spoofed:
        rid = request_id("spoof")
        headers = {"X-Request-ID": rid, "X-Forwarded-For": forwarded}
        statuses.append(
            login(cluster.port, username, WRONG_PASSWORD, source=client, headers=headers).status
        )
        for line in log_lines(instance_logs(cluster), rid):
            assert "203.0.113" not in line, line
            if "login_failed" in line or "rate_limited" in line or "factsvc.access" in line:
                assert mentions(line, client), line
    # A new address in each X-Forwarded-For would have escaped a limit that believed it.
    assert statuses == [401] * CLIENT_MAX_FAILURES + [429, 429]


def wrk_executable() -> str:
    found = shutil.which("wrk")
    assert found, "wrk is missing: `make test-tools` installs Debian's wrk"
    return found


def wait_until_nginx_relies_on(cluster: Cluster, port: int, timeout: float) -> None:
    """Wait until nginx sends requests to the restarted instance on `port` again, and no
    failure from its stop can take it out any more: a connection attempted as it stopped may
    fail up to proxy_connect_timeout later, and nginx then leaves the instance alone for
    fail_timeout (passive health). Stopping the other instance before that would leave nginx
    none to send requests to."""
    time.sleep(CONNECT_TIMEOUT_SECONDS + FAIL_TIMEOUT_SECONDS)
    log_offset = nginx_access_log(cluster).stat().st_size
    marker = f"upstream={LOOPBACK}:{port} upstream_status=200"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with nginx_access_log(cluster).open("rb") as log:
            log.seek(log_offset)
            if marker.encode() in log.read():
                return
        time.sleep(0.1)
    raise AssertionError(f"nginx sent nothing to port {port} within {timeout:g} s")


def finish_wrk(process: subprocess.Popen[str]) -> dict[str, Any]:
    """Stop wrk (SIGINT: it ends its run and reports) and read the script's summary."""
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    match = re.search(r"^ROLLING (\{.*\})$", stdout, re.MULTILINE)
    assert match, f"no summary from wrk:\n{stdout}\n{stderr}"
    summary: dict[str, Any] = orjson.loads(match.group(1))
    return summary


def test_a_rolling_restart_loses_no_request(cluster: Cluster, username: str) -> None:
    token = login(cluster.port, username, source="127.0.0.41").body["token"]
    command = [
        wrk_executable(),
        "--threads=2",
        "--connections=8",
        "--duration=60s",
        "--timeout=10s",
        f"--script={ROLLING_SCRIPT}",
        f"http://{LOOPBACK}:{cluster.port}/",
        "--",
        token,
    ]
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        for instance in cluster.instances:
            instance.stop()
            instance.start()
            instance.wait_ready()
            wait_until_nginx_relies_on(cluster, instance.port, timeout=10.0)
        time.sleep(0.5)
        summary = finish_wrk(wrk)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    answered = sum(summary["statuses"].values())
    assert summary["socket_errors"] == 0, summary
    assert summary["statuses"] == {"200": answered}, summary
    assert answered == summary["requests"] > 100, summary


def test_mail_is_kept_as_files_and_its_links_lead_to_nginx(cluster: Cluster) -> None:
    """As `make run`: with no SMTP_URL the cluster starts the mail sink, and a mailed link
    names nginx's address (PUBLIC_BASE_URL), through which its token works."""
    address = f"u{uuid.uuid4().hex[:12]}@example.com"
    name = f"u{uuid.uuid4().hex[:12]}"
    account = {"username": name, "password": PASSWORD, "email": address}
    answer = call(cluster.port, "POST", "/register", account)
    assert answer.status == 201, answer.body
    mail_dir = cluster.settings.path_data / "mail"
    prefix = f"http://{LOOPBACK}:{cluster.port}/email/verify#token="
    deadline = time.monotonic() + 10
    links: list[str] = []
    while not links and time.monotonic() < deadline:
        texts = [path.read_text() for path in mail_dir.glob("*.eml")] if mail_dir.exists() else []
        links = [
            link
            for text in texts
            if f"To: {address}" in text
            for link in re.findall(re.escape(prefix) + r"[A-Za-z0-9_-]+", text)
        ]
        time.sleep(0.1)
    assert links, f"no verification mail for {address} under {mail_dir}"
    token = links[0].removeprefix(prefix)
    assert call(cluster.port, "POST", "/email/verify", {"token": token}).status == 200
