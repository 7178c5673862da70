"""One worker's stop: readiness fails first, the service drains, stops accepting, and exits once
nothing is under way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from factsvc.http_connection import EnvelopeHTTPServer
from factsvc.inflight import InFlightRequests
from factsvc.services.health import ReadinessService

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Once the listener is closed, a connection that waits for a request is closed after this much
# quiet: time for a request its client sent at that moment to arrive and be answered (the
# first request of a connection accepted just before, or any when the drain is 0). Connections
# idle since before the stop have been quiet for the whole drain already: they close at once.
QUIET_SECONDS = 0.5
POLL_SECONDS = 0.05


class StopSignals:
    """SIGTERM or SIGINT begins the stop (`begun`); a second SIGINT, Ctrl-C pressed again, cuts
    the drain short (`hurried`). Only SIGINT counts twice: a worker of several gets both the
    terminal's SIGINT and the SIGTERM its parent forwards for one Ctrl-C."""

    def __init__(self) -> None:
        self.begun = asyncio.Event()
        self.hurried = asyncio.Event()
        self._interrupts = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle STOP_SIGNALS on `loop` (the running loop of this process)."""
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.received, sig)

    def received(self, signum: int) -> None:
        if signum == signal.SIGINT:
            self._interrupts += 1
            if self._interrupts == 2:
                self.hurried.set()
        self.begun.set()


async def stop_gracefully(
    server: EnvelopeHTTPServer,
    in_flight: InFlightRequests,
    readiness: ReadinessService,
    signals: StopSignals,
    *,
    drain_seconds: float,
    grace_seconds: float,
) -> None:
    """Stop serving without losing a request, once `signals.begun` is set.

    At once /readyz answers 503 (process: stopping) and every answer says `Connection: close`
    and ends its connection. The service goes on accepting and serving for `drain_seconds`
    (SHUTDOWN_DRAIN_SECONDS; less after a second Ctrl-C), so that a load balancer sees /readyz
    fail and sends no more. Then it stops accepting: new connections are refused, those that
    reached a listener are served (listener_close.py). It closes each connection that waits
    for a request once quiet for QUIET_SECONDS, and waits up to `grace_seconds`
    (SHUTDOWN_GRACE_SECONDS) until no request is in flight and no connection is open; then
    whatever is left is cut.
    """
    log.info(
        "stopping: %d request(s) in flight; /readyz answers 503; accepting for %g s more",
        in_flight.count,
        drain_seconds,
    )
    readiness.mark_stopping()
    server.close_after_answers()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(signals.hurried.wait(), drain_seconds)
        log.info("interrupted again: no longer draining")
    await server.stop_accepting()
    log.info(
        "stopped accepting: %d connection(s) open, %d request(s) in flight",
        len(server.connections),
        in_flight.count,
    )
    if not await _until_quiet(server, in_flight, grace_seconds):
        log.warning(
            "grace period over: aborting %d request(s) and %d connection(s)",
            in_flight.count,
            len(server.connections),
        )
    await server.close_all_connections()
    await server.finish_lingering()


async def _until_quiet(
    server: EnvelopeHTTPServer, in_flight: InFlightRequests, grace_seconds: float
) -> bool:
    """True once no request is in flight and no connection is open, within `grace_seconds`;
    meanwhile closes each connection that has waited QUIET_SECONDS for a request."""
    deadline = time.monotonic() + grace_seconds
    while True:
        now = time.monotonic()
        server.connections.close_idle(now, QUIET_SECONDS)
        if not in_flight.count and not server.connections:
            return True
        if now >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
