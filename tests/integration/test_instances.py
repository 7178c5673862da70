"""Instances sharing one PATH_DATA, as replicas sharing a volume do: each keeps its metric files
and its embedded data in a directory of its own, named by INSTANCE_NAME."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from factsvc.config import Settings
from factsvc.config.instance_name import default_instance_name
from factsvc.embedded import free_port
from tests.support.polling import eventually
from tests.support.processes import end_process, serve_environment
from tests.support.servers import STRONG_SECRET

pytestmark = pytest.mark.timeout(120)


def fetch(url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
        raise AssertionError("unreachable")
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Instance:
    """One `factsvc serve` process on a port of its own, its output in a file."""

    def __init__(self, data: Path, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.name = env.get("INSTANCE_NAME") or default_instance_name(self.port)
        self.dir = data / self.name
        self.output = data / f"output-{self.port}.txt"
        environ = serve_environment(data, self.port, **env)
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "factsvc", "serve", *args],
                env=environ,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output.read_text()
            try:
                if fetch(self.url("/readyz"))[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready: {self.output.read_text()}")

    def answered(self) -> float:
        """The /fact requests this instance's /metrics counts now: what its workers have
        flushed to their files (each twice a second)."""
        text = fetch(self.url("/metrics"))[1].decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "factsvc_http_requests_total" and sample.labels["route"] == "/fact"
        )

    def assert_answered(self, expected: int) -> None:
        """/metrics comes to count `expected` /fact requests within 15 s, and still does
        1.2 s later (two flush periods): no count arrives late on top."""
        eventually(
            self.answered,
            15,
            f"{expected} /fact requests counted",
            pause=0.1,
            accept=lambda counted: counted == expected,
        )
        time.sleep(1.2)
        assert self.answered() == expected

    def metric_files(self) -> set[Path]:
        return set((self.dir / "metrics").glob("*.db"))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


class Starter(Protocol):
    def __call__(self, *args: str, **env: str) -> Instance: ...


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Starter]:
    started: list[Instance] = []

    def start_instance(*args: str, **env: str) -> Instance:
        instance = Instance(tmp_path, env, *args)
        started.append(instance)
        return instance

    yield start_instance
    for instance in started:
        end_process(instance.process)


def on_shared_backends(settings: Settings) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "TORNADO_SERVER_NUMPROCS": "2",
        "SESSION_COOKIE_SECRET": STRONG_SECRET,
        "REDIS_URL": settings.redis_url,
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_NAME": settings.mongodb_name,
    }


def test_two_instances_on_one_path_data_keep_their_own_metrics(
    start: Starter, settings: Settings
) -> None:
    first = start(**on_shared_backends(settings))
    first.wait_ready()
    for _ in range(7):
        assert fetch(first.url("/fact?n=3"))[0] == 200
    first.assert_answered(7)
    first_files = first.metric_files()
    assert first_files, "the first instance's workers write their files in its directory"

    second = start(**on_shared_backends(settings))
    second.wait_ready()
    assert second.dir != first.dir
    assert first_files <= first.metric_files(), "the second's start removed none of them"
    for _ in range(4):
        assert fetch(second.url("/fact?n=4"))[0] == 200
    second.assert_answered(4)
    first.assert_answered(7)

    assert second.stop() == 0
    assert not (second.dir / "metrics").exists(), "an instance removes its own files at exit"
    assert first_files <= first.metric_files(), "and only its own"
    first.assert_answered(7)
    assert first.stop() == 0
    assert not (first.dir / "metrics").exists()


def test_a_second_instance_of_the_same_name_is_refused_and_harms_nothing(
    start: Starter, settings: Settings
) -> None:
    first = start(INSTANCE_NAME="replica", **on_shared_backends(settings))
    first.wait_ready()
    assert fetch(first.url("/fact?n=3"))[0] == 200
    files = first.metric_files()

    twin = start(INSTANCE_NAME="replica", **on_shared_backends(settings))
    assert twin.process.wait(30) == 2
    output = twin.output.read_text()
    assert "INSTANCE_NAME replica is in use" in output
    assert "Traceback" not in output
    assert files <= first.metric_files()
    first.assert_answered(1)
    assert first.stop() == 0


def test_embedded_instances_on_one_path_data_keep_their_own_data(start: Starter) -> None:
    first = start("--embedded")
    first.wait_ready()
    registered = fetch(first.url("/register"), {"username": "alice", "password": "a" * 12 + "!x"})
    assert registered[0] == 201, registered

    second = start("--embedded")
    second.wait_ready()
    for instance in (first, second):
        assert (instance.dir / "embedded" / "embedded-redis.log").stat().st_size > 0
    assert not list((first.dir.parent / "log").glob("embedded-*")), "their logs are their own"
    login = {"username": "alice", "password": "a" * 12 + "!x"}
    assert fetch(second.url("/login"), login)[0] == 401, "the second's accounts are its own"
    assert fetch(first.url("/login"), login)[0] == 200, "the first's servers still run"

    assert second.stop() == 0
    assert fetch(first.url("/login"), login)[0] == 200, "and survive the second's stop"
    assert first.stop() == 0
