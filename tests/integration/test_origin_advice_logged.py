"""`factsvc serve` logs its advice on CORS_ORIGINS once for the service, not once per worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factsvc.embedded import free_port
from tests.support.servers import STRONG_SECRET

pytestmark = pytest.mark.timeout(60)
WORKER_STARTED = "MongoDB unavailable at start"


def test_the_origin_advice_is_logged_once_before_the_workers_start(tmp_path: Path) -> None:
    closed = free_port()  # no backend: the workers start all the same, each with a warning
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PATH_DATA": str(tmp_path),
        "DEBUG": "false",
        "SESSION_COOKIE_SECRET": STRONG_SECRET,
        "TORNADO_SERVER_NUMPROCS": "2",
        "TORNADO_SERVER_PORT": str(free_port()),
        "TORNADO_SERVER_ADDRESS": "127.0.0.1",
        "LOGGING_LOGGER_LEVEL": "INFO",
        "CORS_ORIGINS": "http://app.example.com,http://localhost:5173",
        "MONGODB_URI": f"mongodb://127.0.0.1:{closed}/",
        "MONGODB_TIMEOUT_MS": "100",
        "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "factsvc", "serve"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log_file = tmp_path / "log" / "factsvc.log"
    try:
        deadline = time.monotonic() + 30
        while True:
            text = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
            if text.count(WORKER_STARTED) >= 2:
                break
            assert process.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    advice = [line for line in text.splitlines() if "CORS_ORIGINS" in line]
    assert len(advice) == 3, advice
    assert " INFO " in advice[0]
    assert advice[0].endswith("CORS_ORIGINS: http://app.example.com, http://localhost:5173")
    assert " WARNING " in advice[1]
    assert "http://app.example.com is plain http and DEBUG is false" in advice[1]
    assert "origins on 2 sites" in advice[2]
