"""A cluster for the nginx tests: nginx in front of two instances of the service (two processes
each) on one redis-server and one MongoDB-compatible server, as `make cluster` starts it."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from factsvc.cluster.topology import Cluster
from factsvc.embedded import free_port
from tests.nginx.loopback_client import PASSWORD, call
from tests.support.servers import STRONG_SECRET

# Failed logins per client address before 429: small, so that a test reaches it quickly.
CLIENT_MAX_FAILURES = 4
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ} | {
        "PATH_DATA": str(tmp_path_factory.mktemp("cluster")),
        "TORNADO_SERVER_PORT": str(free_port()),
        "SESSION_COOKIE_SECRET": STRONG_SECRET,
        "LOGGING_LOGGER_LEVEL": "INFO",
        "BCRYPT_ROUNDS": "10",
        "LOGIN_CLIENT_MAX_FAILURES": str(CLIENT_MAX_FAILURES),
        # A quick drain keeps the rolling restart short; the mechanism is the same.
        "SHUTDOWN_DRAIN_SECONDS": "1",
        "SHUTDOWN_GRACE_SECONDS": "5",
    }
    cluster = Cluster(env)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def username(cluster: Cluster) -> str:
    """An account registered through nginx."""
    name = f"u{uuid.uuid4().hex[:12]}"
    answer = call(cluster.port, "POST", "/register", {"username": name, "password": PASSWORD})
    assert answer.status == 201, answer.body
    return name


def log_lines(paths: list[Path], marker: str, timeout: float = 3.0) -> list[str]:
    """The lines of the files at `paths` that contain `marker`, waiting up to `timeout` for a
    first one (a log line may follow its answer by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            line
            for path in paths
            if path.exists()
            for line in path.read_text(errors="replace").splitlines()
            if marker in line
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def instance_logs(cluster: Cluster) -> list[Path]:
    return [instance.server.log_path for instance in cluster.instances]


def nginx_access_log(cluster: Cluster) -> Path:
    return cluster.log_dir / "nginx-access.log"
