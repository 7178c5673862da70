"""The parts of a stop that loses no request: the signals that begin and hurry it, its drain
setting, which connections it closes as idle, and listeners that refuse new connections while
those that reached them are still served."""

from __future__ import annotations

import signal
import socket
import sys

import pytest

from factsvc.config import ConfigError, Settings
from factsvc.graceful_stop import StopSignals
from factsvc.listener_close import drop_new_connections, queued_connections
from factsvc.open_connections import OpenConnections
from tests.support.servers import STRONG_SECRET


def test_sigterm_or_sigint_begins_the_stop_and_only_a_second_sigint_hurries_it() -> None:
    terminated = StopSignals()
    terminated.received(signal.SIGTERM)
    terminated.received(signal.SIGTERM)
    assert terminated.begun.is_set()
    assert not terminated.hurried.is_set()

    # One Ctrl-C in a terminal: a worker gets SIGINT from the terminal, SIGTERM from its parent.
    interrupted = StopSignals()
    interrupted.received(signal.SIGTERM)
    interrupted.received(signal.SIGINT)
    assert interrupted.begun.is_set()
    assert not interrupted.hurried.is_set()
    interrupted.received(signal.SIGINT)
    assert interrupted.hurried.is_set()


def test_the_drain_is_5_seconds_outside_debug_and_none_in_debug_unless_set() -> None:
    production = {"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG_SECRET}
    assert Settings.from_env(production).shutdown_drain_seconds == 5.0
    assert Settings.from_env({}).shutdown_drain_seconds == 0.0
    assert Settings.from_env({"SHUTDOWN_DRAIN_SECONDS": "2.5"}).shutdown_drain_seconds == 2.5
    drained = {**production, "SHUTDOWN_DRAIN_SECONDS": "0"}
    assert Settings.from_env(drained).shutdown_drain_seconds == 0.0
    assert Settings.from_env(production).replaced(debug=True).shutdown_drain_seconds == 0.0
    with pytest.raises(ConfigError, match="SHUTDOWN_DRAIN_SECONDS: must be a number from 0"):
        Settings.from_env({"SHUTDOWN_DRAIN_SECONDS": "-1"})


class FakeConnection:
    def __init__(self, idle_since: float | None) -> None:
        self._idle_since = idle_since
        self.closed = False

    def idle_since(self) -> float | None:
        return self._idle_since

    def close(self) -> None:
        self.closed = True


def test_only_connections_quiet_for_long_enough_are_closed_as_idle() -> None:
    connections = OpenConnections()
    busy, fresh, quiet = FakeConnection(None), FakeConnection(9.8), FakeConnection(9.0)
    for connection in (busy, fresh, quiet):
        connections.opened(connection)
    assert connections.close_idle(now=10.0, quiet_seconds=0.5) == 1
    assert (busy.closed, fresh.closed, quiet.closed) == (False, False, True)
    connections.closed(quiet)
    assert len(connections) == 2


@pytest.mark.skipif(sys.platform != "linux", reason="SYNs are dropped by a Linux socket filter")
def test_a_listener_refusing_new_connections_still_hands_over_those_it_queued() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        address = listener.getsockname()
        with socket.create_connection(address, timeout=5) as queued:
            assert drop_new_connections(listener)
            late = socket.socket()
            late.settimeout(0.3)
            with late, pytest.raises(TimeoutError):
                late.connect(address)  # its SYN is dropped: no connection to reset
            accepted = list(queued_connections([listener]))
            assert len(accepted) == 1
            with accepted[0][0] as served:
                queued.sendall(b"ping")
                assert served.recv(4) == b"ping"
