"""Start the service and the reference server in sessions of their own, find their processes
in /proc, and stop them by pid."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from factsvc.cluster.topology import ready_status

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
# High enough that no load from one address trips them; the service accepts at most 100000.
ABUSE_LIMIT = 100_000
# Kept from the caller's environment; everything the service reads is set here, so a variable
# left in a developer's shell cannot change what is measured.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
# docker-compose's app environment (the shipped production configuration) as far as logging
# goes: not DEBUG, INFO, to the console and to PATH_DATA/log/factsvc.log, plain lines.
PRODUCTION_LOGGING = {
    "DEBUG": "false",
    "LOGGING_LOGGER_LEVEL": "INFO",
    "LOG_TO_FILE": "true",
    "LOG_FORMAT": "plain",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def service_environment(
    *, data_dir: Path, port: int, processes: int, event_loop: str, bcrypt_rounds: int
) -> dict[str, str]:
    """The settings the service runs with; the report lists them (all but the secret). Its
    logging is the shipped production configuration's (PRODUCTION_LOGGING)."""
    return {
        **PRODUCTION_LOGGING,
        "PATH_DATA": str(data_dir),
        "TORNADO_SERVER_PORT": str(port),
        "TORNADO_SERVER_ADDRESS": LOOPBACK,
        "TORNADO_SERVER_NUMPROCS": str(processes),
        "EVENT_LOOP": event_loop,
        "SESSION_COOKIE_SECRET": secrets.token_urlsafe(48),
        "BCRYPT_ROUNDS": str(bcrypt_rounds),
        "REGISTER_CLIENT_MAX": str(ABUSE_LIMIT),
        "LOGIN_CLIENT_MAX_FAILURES": str(ABUSE_LIMIT),
        "LOGIN_ACCOUNT_MAX_FAILURES": str(ABUSE_LIMIT),
    }


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    start_ticks: int
    command: str

    def rss_kib(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None

    def is_alive(self) -> bool:
        """Still running, and still the same process (a recycled pid starts at another tick)."""
        current = read_process(self.pid)
        return current is not None and current.start_ticks == self.start_ticks


def read_process(pid: int) -> ProcessInfo | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    # The command name in parentheses may contain spaces: the fields start after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return ProcessInfo(pid, int(fields[1]), int(fields[19]), command.strip())


def all_processes() -> list[ProcessInfo]:
    found = (read_process(int(entry)) for entry in os.listdir("/proc") if entry.isdigit())
    return [process for process in found if process is not None]


def descendants(root: int) -> list[ProcessInfo]:
    processes = all_processes()
    found: list[ProcessInfo] = []
    parents = {root}
    while parents:
        children = [p for p in processes if p.ppid in parents]
        found.extend(children)
        parents = {p.pid for p in children}
    return found


@dataclass
class Server:
    """A server process started by this driver, in its own session."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            if ready_status(self.port, timeout=1.0) == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name}: /readyz not 200 within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; then any of its descendants that
        outlived it (which only a SIGKILL of the parent would leave) are stopped the same way."""
        left = descendants(self.process.pid)
        _terminate(self.process.pid, self.process.wait)
        for process in left:
            if process.is_alive():
                _terminate(process.pid, _waiter(process))

    def service_processes(self) -> dict[str, list[ProcessInfo]]:
        """The service's own processes (parent and workers), the backends it started, and the
        factorial pools (children of a worker, or of the parent when it is the only worker)."""
        parent = read_process(self.process.pid)
        everything = descendants(self.process.pid)
        children = [p for p in everything if p.ppid == self.process.pid]
        workers = [p for p in children if "factsvc serve" in p.command]
        backends = [p for p in children if "redis-server" in p.command or "secantus" in p.command]
        serving = {self.process.pid} | {p.pid for p in workers}
        pools = [
            p for p in everything if p.ppid in serving and p not in workers and p not in backends
        ]
        return {
            "service": ([parent] if parent else []) + workers,
            "backends": backends,
            "compute_pools": pools,
        }


def _waiter(process: ProcessInfo) -> Callable[..., object]:
    def wait(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while process.is_alive():
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(process.command, timeout)
            time.sleep(0.1)

    return wait


def _terminate(pid: int, wait: Callable[..., object]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait(timeout=STOP_TIMEOUT_SECONDS)


def start_service(
    bin_dir: Path,
    work_dir: Path,
    *,
    processes: int,
    event_loop: str,
    bcrypt_rounds: int,
    extra_env: dict[str, str] | None = None,
    name: str = "",
) -> tuple[Server, dict[str, str]]:
    """`factsvc serve --embedded` on a fresh data directory (work_dir/`name`, by default
    service-<processes>p), with `extra_env` over the benchmark's settings; the server and its
    settings."""
    name = name or f"service-{processes}p"
    data_dir = work_dir / name
    data_dir.mkdir(parents=True)
    port = free_port()
    env = service_environment(
        data_dir=data_dir,
        port=port,
        processes=processes,
        event_loop=event_loop,
        bcrypt_rounds=bcrypt_rounds,
    ) | (extra_env or {})
    argv = [str(bin_dir / "factsvc"), "serve", "--embedded"]
    return _start(name, argv, env, port, work_dir / f"{name}.log"), env


def start_reference(bin_dir: Path, work_dir: Path, *, processes: int, event_loop: str) -> Server:
    port = free_port()
    argv = [
        str(bin_dir / "python"),
        str(Path(__file__).with_name("reference_server.py")),
        f"--port={port}",
        f"--processes={processes}",
        f"--event-loop={event_loop}",
    ]
    return _start("reference", argv, {}, port, work_dir / f"reference-{processes}p.log")


def _start(name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path) -> Server:
    environment = {k: os.environ[k] for k in INHERITED_VARIABLES if k in os.environ} | env
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - argv built by the driver
            argv,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches it only through our stop().
            start_new_session=True,
        )
    server = Server(name, process, port, log_path)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server
