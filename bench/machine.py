"""Facts about the machine, the software measured, and how fast it can hash passwords."""

from __future__ import annotations

import base64
import os
import platform
import subprocess
import threading
import time
from importlib import metadata
from pathlib import Path

import bcrypt

PACKAGES = ("tornado", "uvloop", "redis", "motor", "pymongo", "bcrypt", "gmpy2", "orjson")


def describe(repo: Path) -> dict[str, object]:
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "ram_gib": round(_mem_total_kib() / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": _commit(repo),
    }


def versions(wrk_version: str) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["wrk"] = wrk_version
    return found


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _commit(repo: Path) -> str:
    def git(*args: str) -> str:
        completed = subprocess.run(  # noqa: S603
            ["git", "-C", str(repo), *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    # Only changes to what is measured count; the results themselves are always changed.
    if git("status", "--porcelain", "--", "src", "pyproject.toml"):
        commit += " with uncommitted changes to src/ or pyproject.toml"
    return commit


def bcrypt_hashes_per_second(rounds: int, seconds: float) -> dict[str, float]:
    """bcrypt.hashpw at this cost on every CPU at once: the most logins the machine can check
    (bcrypt releases the GIL, so threads use every core)."""
    threads = os.cpu_count() or 1
    # The service hashes HMAC-SHA256 digests in base64: 44 bytes.
    password = base64.b64encode(os.urandom(32))
    counts = [0] * threads
    ends = [0.0] * threads
    start = time.perf_counter()
    deadline = start + seconds

    def hash_until_deadline(index: int) -> None:
        while time.perf_counter() < deadline:
            bcrypt.hashpw(password, bcrypt.gensalt(rounds))
            counts[index] += 1
        ends[index] = time.perf_counter()

    workers = [threading.Thread(target=hash_until_deadline, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = max(ends) - start
    return {
        "threads": threads,
        "rounds": rounds,
        "hashes": sum(counts),
        "seconds": round(elapsed, 3),
        "hashes_per_second": sum(counts) / elapsed,
    }
