"""What the browser tests run: the service and serve.py as processes stopped by their pid, where
they answer, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVE_SPA = REPO / "examples" / "spa" / "serve.py"
SCREENSHOTS = REPO / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Failed logins an account may have per window before 429: low, so a test reaches it quickly.
LOGIN_ACCOUNT_MAX_FAILURES = 3
# Production's lowest bcrypt cost: the service runs with production's rules.
BCRYPT_ROUNDS = 10
ACTION_TIMEOUT_MS = 10_000
START_TIMEOUT_SECONDS = 30.0


def chromium_executable() -> str:
    """Chromium's path; fails the test (never skips it) when Chromium is not installed."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail(
            "Chromium is not installed: `make test` installs it first (apt-get install chromium "
            "on Debian or Ubuntu, as root); elsewhere install Chromium so that `chromium` is on "
            "PATH. Playwright never downloads a browser here."
        )
    return found


def answers(url: str) -> bool:
    """Whether GET `url` answers 200 within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Process:
    """A child process started by a fixture, its output in `log`, stopped by its pid."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_until_answering(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers(url):
            if self.process.poll() is not None:
                pytest.fail(f"{url}: the process exited; its output:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{url}: no answer; the process's output:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass(frozen=True)
class Site:
    """Where the API and the SPA answer: `api` (http://localhost:B), and the SPA's origins on
    the API's site (`same_site`, http://localhost:A) and on another (`cross_site`,
    http://127.0.0.1:A), both listed in CORS_ORIGINS; `service_log` is the service's output."""

    api: str
    same_site: str
    cross_site: str
    service_log: Path

    def page_url(self, origin: str, mode: str) -> str:
        """The SPA's URL on `origin`, talking to the API in session `mode`."""
        return f"{origin}/?api={self.api}&mode={mode}"


def start_spa(port: int, api: str, log: Path) -> Process:
    """serve.py on localhost:`port`, its policy allowing connections to `api`."""
    command = [sys.executable, str(SERVE_SPA), "--port", str(port), "--api", api]
    spa = Process(command, {"PATH": os.environ.get("PATH", "")}, log)
    spa.wait_until_answering(f"http://127.0.0.1:{port}/")
    return spa
