"""Find (or install) wrk, run it with a scenario's Lua script, and read what it printed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

MAX_THREADS = 2
HOW_TO_INSTALL = (
    "wrk is not installed. Install it with your package manager (Debian/Ubuntu: "
    "sudo apt-get install wrk; macOS: brew install wrk) or build it from "
    "https://github.com/wg/wrk, then run the benchmark again."
)
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SCRIPT_LINE = re.compile(r"^BENCH (\{.*\})$", re.MULTILINE)


def find_or_install() -> str:
    """wrk from PATH; on Debian or Ubuntu as root, installed with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk not found: installing it with apt-get", file=sys.stderr)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        # Only the outcome counts: an update that fails for one unrelated source, or an install
        # that fails, ends with wrk still missing and the instructions below.
        subprocess.run(["apt-get", "update"], check=False, env=env)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, env=env)  # noqa: S607
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(HOW_TO_INSTALL)


def version(wrk: str) -> str:
    completed = subprocess.run(  # noqa: S603 - wrk's own path
        [wrk, "-v"], capture_output=True, text=True, check=False
    )
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0] if lines else "unknown"


@dataclass
class WrkResult:
    requests_per_second: float
    latency_ms: dict[str, float | None]
    socket_errors: dict[str, int]
    non_2xx: int
    statuses: dict[str, int]
    counters: dict[str, int]
    requests: int
    duration_s: float

    @property
    def socket_error_count(self) -> int:
        return sum(self.socket_errors.values())

    def per_second(self, counter: str) -> float:
        return self.counters.get(counter, 0) / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def parse(output: str) -> WrkResult:
    rate = _REQUESTS_PER_SECOND.search(output)
    if rate is None:
        raise ValueError(f"no Requests/sec line in wrk's output:\n{output}")
    latency: dict[str, float | None] = dict.fromkeys(("p50", "p75", "p90", "p99"))
    for percentile, value, unit in _PERCENTILE.findall(output):
        latency[f"p{percentile}"] = float(value) * _UNITS_MS[unit]
    errors = _SOCKET_ERRORS.search(output)
    counts = [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0]
    non_2xx = _NON_2XX.search(output)
    script_line = _SCRIPT_LINE.search(output)
    script = json.loads(script_line.group(1)) if script_line else {}
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        latency_ms=latency,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), counts, strict=True)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        statuses=dict(sorted(script.get("statuses", {}).items())),
        counters=dict(sorted(script.get("counters", {}).items())),
        requests=int(script.get("requests", 0)),
        duration_s=int(script.get("duration_us", 0)) / 1e6,
    )


@dataclass(frozen=True)
class Load:
    """One wrk invocation: a script against a URL, with its connections and arguments."""

    script: Path
    url: str
    connections: int
    duration_s: float
    timeout_s: float
    args: tuple[str, ...] = ()

    def command(self, wrk: str) -> list[str]:
        return [
            wrk,
            f"--threads={min(MAX_THREADS, self.connections)}",
            f"--connections={self.connections}",
            f"--duration={self.duration_s:g}s",
            f"--timeout={self.timeout_s:g}s",
            "--latency",
            f"--script={self.script}",
            self.url,
            "--",
            *self.args,
        ]


class Wrk:
    def __init__(self, path: str) -> None:
        self.path = path

    def start(self, load: Load) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - argv built by the driver
            load.command(self.path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str], load: Load) -> WrkResult:
        """Wait for a started run and read its result; the process is gone afterwards."""
        try:
            stdout, stderr = process.communicate(timeout=load.duration_s + 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"wrk exited with {process.returncode}: {stderr.strip()}")
        return parse(stdout)

    def run(self, load: Load) -> WrkResult:
        return self.finish(self.start(load), load)
