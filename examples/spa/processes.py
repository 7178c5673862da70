"""The demo's child processes (the service, serve.py): started in sessions of their own, polled
until they answer, stopped by their pid. `make demo`, screenshot.py and the browser tests run
them through this module."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

HERE = Path(__file__).resolve().parent
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
POLL_SECONDS = 0.1
LOG_TAIL_LINES = 40


class ProcessFailed(RuntimeError):
    """A child exited, or did not answer in time; the message ends with its log's last lines."""


def service_command(*, embedded: bool) -> list[str]:
    """`factsvc serve` under this interpreter; `embedded`: on its own Redis and MongoDB-compatible
    server (`--embedded`)."""
    return [sys.executable, "-m", "factsvc", "serve", *(["--embedded"] if embedded else [])]


def spa_command(port: int, api: str, address: str = "localhost") -> list[str]:
    """serve.py on `address`:`port`, its Content-Security-Policy letting the page reach `api`."""
    serve = [sys.executable, str(HERE / "serve.py"), "--port", str(port), "--address", address]
    return [*serve, "--api", api]


def answers(url: str) -> bool:
    """Whether GET `url` answers 200 within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Process:
    """One child process, `name` in messages: `command` run with `env` (its whole environment),
    its output appended to `log`, or to this process's own output when `log` is None.

    It runs in a session of its own, so that a terminal's Ctrl-C reaches only this process,
    which stops it in turn. Used as a context manager, leaving stops it."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log: Path | None = None
    ) -> None:
        self.name, self.log = name, log
        if log is None:
            self.process = self._start(command, env, None)
        else:
            with log.open("ab") as output:
                self.process = self._start(command, env, output)

    @staticmethod
    def _start(
        command: list[str], env: dict[str, str], output: IO[bytes] | None
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and files
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
        )

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_until_answering(self, url: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Return once GET `url` answers 200; ProcessFailed if the process exits first or
        `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not answers(url):
            self.check_running()
            if time.monotonic() > deadline:
                raise ProcessFailed(self._described(f"no answer from {url} in {timeout:.0f} s"))
            time.sleep(POLL_SECONDS)

    def check_running(self) -> None:
        """ProcessFailed when the process has exited."""
        if self.process.poll() is not None:
            status = self.process.returncode
            raise ProcessFailed(self._described(f"exited with status {status}"))

    def stop(self) -> None:
        """SIGTERM by pid if it still runs; SIGKILL if it outlasts STOP_TIMEOUT_SECONDS."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _described(self, what: str) -> str:
        message = f"the {self.name} (pid {self.process.pid}) {what}"
        if self.log is None:
            return message
        tail = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        return "\n".join([f"{message}; the end of {self.log}:", *tail])
