"""Sockets, worker processes, the event loop, signals and the graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Coroutine, Sequence
from types import FrameType
from typing import Any

from tornado.netutil import bind_sockets
from tornado.web import Application

from factsvc.app import Services, make_app, open_services
from factsvc.config import Settings
from factsvc.config.origin_advice import origin_advice
from factsvc.embedded import EmbeddedBackends
from factsvc.graceful_stop import STOP_SIGNALS, StopSignals, stop_gracefully
from factsvc.http_connection import EnvelopeHTTPServer
from factsvc.inflight import InFlightRequests
from factsvc.logs import DroppedLinesWatch, stop_logging
from factsvc.mail_composition import warn_if_mail_disabled
from factsvc.metrics import forget_process
from factsvc.open_files import raise_open_files_limit
from factsvc.port_hold import port_held

log = logging.getLogger(__name__)

MAX_WORKER_RESTARTS = 100
MAX_DISCARDED_BODY_FACTOR = 16


def make_http_server(app: Application, settings: Settings) -> EnvelopeHTTPServer:
    """The HTTP/1.1 server with the configured limits; what its parser refuses (a head over
    HTTP_MAX_HEADER_BYTES, a malformed message) is answered in the envelope (http_connection),
    readable by pages on CORS_ORIGINS as every other answer is."""
    return EnvelopeHTTPServer(
        app,
        listed_origins=settings.cors_origins,
        # Client-sent X-Real-Ip / X-Forwarded-For are not trusted: the peer address is.
        xheaders=False,
        decompress_request=False,
        # The handlers refuse bodies over the limit with a JSON 413 as soon as the headers
        # arrive; the connection reads and drops up to this cap before closing (beyond it,
        # Tornado answers a bare 400 and closes at once).
        max_body_size=MAX_DISCARDED_BODY_FACTOR * settings.http_max_body_bytes,
        # Request line and headers together; beyond it, 414 or 431 and the connection closes.
        max_header_size=settings.http_max_header_bytes,
        idle_connection_timeout=settings.http_idle_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
    )


def process_count(settings: Settings) -> int:
    if settings.debug:
        return 1
    return settings.server_numprocs or os.cpu_count() or 1


def serve(settings: Settings, *, embedded: bool) -> int:
    """Run the service until SIGTERM or SIGINT; the exit status for the process."""
    for line in origin_advice(settings):  # once for the service, before any worker starts
        log.log(line.level, "%s", line.message)
    open_files, _ = raise_open_files_limit()
    log.info("open files limit: %d (each connection takes one)", open_files)
    backends = None
    if embedded:
        # The backends bind free ports before the service binds its own: a port just freed,
        # such as one chosen for TORNADO_SERVER_PORT, may be handed out again unless held.
        with port_held(settings.server_port, settings.server_address):
            backends = EmbeddedBackends.start(
                settings.embedded_dir,
                settings.embedded_dir,
                settings.fact_cache_max_bytes,
                # With no SMTP server named, mail is kept for the developer to open.
                mail_dir=None if settings.smtp_url else settings.path_data / "mail",
            )
    if backends is not None:
        settings = settings.with_backends(
            redis_url=backends.redis_url,
            mongodb_uri=backends.mongodb_uri,
            redis_cache_url=backends.redis_cache_url,
        )
        if backends.smtp_url:
            # The sink keeps mail on this machine, so links to its loopback address are right
            # here, in DEBUG or not (PUBLIC_BASE_URL is required only for a real SMTP server).
            settings = settings.replaced(
                smtp_url=backends.smtp_url, public_base_url=settings.public_base_url
            )
    warn_if_mail_disabled(settings)
    try:
        processes = process_count(settings)
        if processes == 1:
            sockets = bind_sockets(settings.server_port, settings.server_address or None)
            log.info(
                "instance %s listening on port %d with 1 process",
                settings.instance_name,
                settings.server_port,
            )
            run_event_loop(settings, run_worker(settings, sockets, backends))
            return 0
        # Each worker listens on a socket of its own on the same port (SO_REUSEPORT) and the
        # kernel spreads new connections over them. With one shared socket, whichever worker
        # woke first accepted most of a burst (measured: 63 of wrk's 64 connections on one of
        # two workers). Binding once here refuses a busy address before any worker starts and
        # settles the number of port 0.
        probe = bind_sockets(settings.server_port, settings.server_address or None, reuse_port=True)
        port = probe[0].getsockname()[1]
        for sock in probe:
            sock.close()
        settings = settings.replaced(server_port=port)
        log.info(
            "instance %s listening on port %d with %d processes",
            settings.instance_name,
            port,
            processes,
        )
        return _run_workers(processes, settings, backends)
    finally:
        if backends is not None:
            backends.stop()


def run_event_loop(settings: Settings, main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on the configured event loop. uvloop is the default: measured with wrk, it
    serves a cached /fact about 10 % faster than asyncio's own loop (BENCHMARKS.md)."""
    if settings.event_loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


async def run_worker(
    settings: Settings,
    sockets: Sequence[socket.socket],
    backends: EmbeddedBackends | None = None,
) -> None:
    signals = StopSignals()
    signals.install(asyncio.get_running_loop())
    in_flight = InFlightRequests()
    async with open_services(settings) as services:
        server = make_http_server(make_app(settings, services, in_flight), settings)
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's full passes, which otherwise grow with the heap and stall the loop.
        gc.collect()
        gc.freeze()
        server.add_sockets(sockets)
        supervisor = asyncio.ensure_future(_watch_backends(backends)) if backends else None
        lag_probe = asyncio.ensure_future(_sample_metrics(services, in_flight))
        await signals.begun.wait()
        await stop_gracefully(
            server,
            in_flight,
            services.readiness,
            signals,
            drain_seconds=settings.shutdown_drain_seconds,
            grace_seconds=settings.shutdown_grace_seconds,
        )
        lag_probe.cancel()
        services.metrics.flush()
        if supervisor is not None:
            supervisor.cancel()
    log.info("stopped")


async def _sample_metrics(
    services: Services, in_flight: InFlightRequests, interval: float = 0.5
) -> None:
    """Twice a second: how late the loop woke us, how many log lines were dropped (with a
    warning), how deep each CPU queue is, how many requests are in flight, and the counts
    kept since the last time."""
    loop = asyncio.get_running_loop()
    drops = DroppedLinesWatch()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        services.metrics.loop_lag.observe(max(0.0, loop.time() - started - interval))
        for sink, count in drops.new_drops(time.monotonic()).items():
            services.metrics.log_lines_dropped.labels(sink).inc(count)
        services.metrics.sample(
            services.pools, services.local_cache_bytes(), requests_in_flight=in_flight.count
        )
        services.metrics.flush()


async def _watch_backends(backends: EmbeddedBackends) -> None:
    while True:
        await asyncio.sleep(1.0)
        backends.restart_exited()


def _run_workers(count: int, settings: Settings, backends: EmbeddedBackends | None) -> int:
    """Fork `count` workers and keep them running until a stop signal.

    Tornado's fork_processes neither forwards signals to its children nor lets the parent do
    anything else while it waits, so the parent here forwards SIGTERM/SIGINT, restarts a worker
    that crashed, and restarts a dead embedded backend.
    """
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            _signal_quietly(pid, signal.SIGTERM)

    workers: dict[int, int] = {}
    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    for worker_id in range(count):
        workers[_fork_worker(worker_id, settings)] = worker_id
    restarts = 0
    status = 0
    while workers:
        pid, wait_status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if backends is not None and not stopping:
                backends.restart_exited()
            time.sleep(0.2)
            continue
        if pid not in workers:
            continue
        worker_id = workers.pop(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        forget_process(pid)
        if stopping:
            status = status or (code if code > 0 else 0)
            continue
        log.error("worker %d (pid %d) exited with %d", worker_id, pid, code)
        restarts += 1
        if restarts > MAX_WORKER_RESTARTS:
            request_stop(signal.SIGTERM, None)
            status = 1
            continue
        workers[_fork_worker(worker_id, settings)] = worker_id
    return status


def _fork_worker(worker_id: int, settings: Settings) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        sockets = bind_sockets(
            settings.server_port, settings.server_address or None, reuse_port=True
        )
        run_event_loop(settings, run_worker(settings, sockets))
    except BaseException:
        log.exception("worker %d failed", worker_id)
        code = 1
    finally:
        stop_logging()  # what the worker logged last, its access lines included, is written
        logging.shutdown()
        # Never return into the parent's code (its finally blocks stop the backends).
        os._exit(code)


def _signal_quietly(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
