"""The cluster's processes on loopback: a Redis Cluster for state, a Redis for the cache, a
MongoDB-compatible server, instances of the service sharing them and one PATH_DATA, and nginx
in front; started in order, stopped by pid."""

from __future__ import annotations

import contextlib
import http.client
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from factsvc.cluster.nginx_process import nginx_server
from factsvc.cluster.state_redis import instance_settings, state_redis_cluster
from factsvc.config import Settings
from factsvc.embedded import (
    LOOPBACK,
    EmbeddedError,
    ManagedServer,
    free_port,
    mongo_server,
    mongodb_uri,
    redis_cache_server,
)
from factsvc.embedded_redis import RedisClusterServers
from factsvc.mail_sink import mail_sink_server

READY_TIMEOUT_SECONDS = 60.0
# nginx is the instances' only trusted proxy: it connects from the loopback address.
NGINX_SOURCE = f"{LOOPBACK}/32"


def ready_status(port: int, timeout: float = 2.0) -> int | None:
    """The status of GET /readyz on LOOPBACK:`port`, None when nothing answers within
    `timeout` seconds."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


@dataclass
class Instance:
    """One instance of the service: `factsvc serve` with its own port and processes."""

    name: str
    server: ManagedServer
    processes: int
    # How long its stop may take: the drain, the grace period, and time to exit.
    stop_timeout: float

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until /readyz answers 200; EmbeddedError if the instance exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.server.running:
                raise EmbeddedError(f"{self.name} exited at start; see {self.server.log_path}")
            if ready_status(self.port) == 200:
                return
            time.sleep(0.1)
        raise EmbeddedError(f"{self.name} was not ready within {timeout:g} s")

    def stop(self) -> None:
        """SIGTERM, and wait for the graceful stop (SIGKILL past stop_timeout)."""
        self.server.stop(self.stop_timeout)


@dataclass
class Cluster:
    """nginx on LOOPBACK:`settings.server_port` in front of `instance_count` instances with
    `processes` processes each, on a Redis Cluster for state (three masters with a replica
    each, REDIS_TOPOLOGY=cluster), one Redis for the factorial cache (at most
    FACT_CACHE_MAX_BYTES, least recently used keys evicted) and one MongoDB-compatible server.

    `env` is the environment the instances start from (their settings); the cluster sets
    what its topology decides: ports, backends' URLs, TRUSTED_PROXIES (nginx), DEBUG=false
    (several processes), and a session secret shared by all when none is given. Data and
    logs go under PATH_DATA: cluster/ for the backends and nginx (its proxy cache of /fact
    answers in cluster/nginx/cache, unless `proxy_cache` is false), log/ for every log."""

    env: Mapping[str, str]
    instance_count: int = 2
    processes: int = 2
    proxy_cache: bool = True
    settings: Settings = field(init=False)
    # The state's Redis Cluster, once started; its nodes are among the backends.
    state_redis: RedisClusterServers | None = field(init=False, default=None)
    # The factorial cache's redis-server, once started.
    _cache: ManagedServer | None = field(init=False, default=None, repr=False)
    # Every backend process: the state's cluster nodes, the cache's Redis, MongoDB's server.
    backends: list[ManagedServer] = field(init=False, default_factory=list)
    instances: list[Instance] = field(init=False, default_factory=list)
    nginx: ManagedServer | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        env = dict(self.env)
        env.setdefault("SESSION_COOKIE_SECRET", "")
        if not env["SESSION_COOKIE_SECRET"]:
            env["SESSION_COOKIE_SECRET"] = secrets.token_urlsafe(48)
        env |= {
            "DEBUG": "false",
            "TORNADO_SERVER_NUMPROCS": str(self.processes),
            "TORNADO_SERVER_ADDRESS": LOOPBACK,
            "TRUSTED_PROXIES": NGINX_SOURCE,
            # Each instance's output goes to a file of its own (log/<instance>.log).
            "LOG_TO_FILE": "false",
        }
        if not env.get("PUBLIC_BASE_URL"):
            # Mailed links lead to nginx, the cluster's one address, not to an instance.
            port = env.get("TORNADO_SERVER_PORT") or Settings.model_fields["server_port"].default
            env["PUBLIC_BASE_URL"] = f"http://{LOOPBACK}:{port}"
        self.env = env
        # ConfigError here, before anything starts, names every bad variable.
        self.settings = Settings.from_env(env)

    @property
    def data_dir(self) -> Path:
        return self.settings.path_data / "cluster"

    @property
    def nginx_cache_dir(self) -> Path | None:
        """The directory of nginx's proxy cache of /fact answers; None without one."""
        return self.data_dir / "nginx" / "cache" if self.proxy_cache else None

    @property
    def log_dir(self) -> Path:
        return self.settings.log_dir

    @property
    def port(self) -> int:
        return self.settings.server_port

    def start(self) -> None:
        """Start everything and wait until each part answers; on any failure, stop what
        started and raise (EmbeddedError, or ConfigError from an instance's settings)."""
        try:
            self._start_backends()
            self._start_instances()
            self.nginx = nginx_server(
                self.settings,
                port=self.port,
                upstream_ports=[instance.port for instance in self.instances],
                site_dir=self.data_dir / "nginx",
                log_dir=self.log_dir,
                cache_dir=self.nginx_cache_dir,
            )
            self.nginx.start()
            self.nginx.wait_until_listening()
        except BaseException:
            self.stop()
            raise

    @property
    def cache_redis(self) -> ManagedServer:
        """The factorial cache's redis-server; EmbeddedError before the backends started."""
        if self._cache is None:
            raise EmbeddedError("the cluster's backends have not been started")
        return self._cache

    def _start_backends(self) -> None:
        self.state_redis = state_redis_cluster(self.data_dir / "redis-cluster", self.log_dir)
        cache = redis_cache_server(
            self.data_dir / "redis-cache", self.log_dir, self.settings.fact_cache_max_bytes
        )
        mongo = mongo_server(self.data_dir / "mongo", self.log_dir)
        single = [cache, mongo]
        mail: ManagedServer | None = None
        if not self.settings.smtp_url:
            # As `make run`: with no SMTP server named, mail is kept as .eml files to open.
            mail = mail_sink_server(self.settings.path_data / "mail", self.log_dir)
            single.append(mail)
        self._cache = cache
        self.backends = [*self.state_redis.nodes, *single]
        for backend in single:
            backend.start()
        self.state_redis.start(READY_TIMEOUT_SECONDS)  # formed (the first time) and synced
        for backend in single:
            backend.wait_until_listening()
        self.env = dict(self.env) | instance_settings(self.state_redis)
        self.env |= {
            "REDIS_CACHE_URL": f"redis://{LOOPBACK}:{cache.port}/0",
            "MONGODB_URI": mongodb_uri(mongo.port),
        }
        if mail is not None:
            self.env["SMTP_URL"] = f"smtp://{LOOPBACK}:{mail.port}"

    def _start_instances(self) -> None:
        stop_timeout = (
            self.settings.shutdown_drain_seconds + self.settings.shutdown_grace_seconds + 10.0
        )
        for number in range(1, self.instance_count + 1):
            port = free_port()
            name = f"instance-{number}"
            server = ManagedServer(
                name,
                [sys.executable, "-m", "factsvc", "serve"],
                port,
                self.log_dir / f"cluster-{name}.log",
                # Its metric files and embedded data apart from the other instances'.
                env=dict(self.env) | {"TORNADO_SERVER_PORT": str(port), "INSTANCE_NAME": name},
            )
            self.instances.append(Instance(name, server, self.processes, stop_timeout))
        for instance in self.instances:
            instance.start()
        for instance in self.instances:
            instance.wait_ready()

    def parts(self) -> list[ManagedServer]:
        """Every process the cluster started, nginx first: the order to stop them in."""
        front = [self.nginx] if self.nginx is not None else []
        return front + [instance.server for instance in self.instances] + self.backends

    def exited(self) -> list[ManagedServer]:
        """The parts that were started and are no longer running."""
        return [part for part in self.parts() if part.process is not None and not part.running]

    def stop(self) -> None:
        """Stop every part by its pid, nginx first and the backends last; never raises for
        a part already gone."""
        if self.nginx is not None:
            self.nginx.stop()
        # All instances drain at once: one after the other would add up their drains.
        processes = [i.server.process for i in self.instances if i.server.process is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + max((i.stop_timeout for i in self.instances), default=0.0)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
        for server in [instance.server for instance in self.instances] + self.backends:
            server.stop()  # what is left: SIGTERM, then SIGKILL
