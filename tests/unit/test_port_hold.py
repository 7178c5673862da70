"""The service's own port is held while the embedded backends pick free ports, so that none
of them can be handed the port the service binds after them."""

from __future__ import annotations

import errno
import socket

import pytest

from factsvc import server
from factsvc.config import Settings
from factsvc.embedded import LOOPBACK, EmbeddedBackends, free_port
from factsvc.port_hold import port_held
from tests.support.servers import with_settings


def bind_error(port: int) -> int | None:
    """The errno of binding LOOPBACK:`port` now, or None if it could be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            return error.errno
    return None


def test_a_held_port_cannot_be_bound_until_the_hold_ends() -> None:
    port = free_port()
    with port_held(port):
        assert bind_error(port) == errno.EADDRINUSE
    assert bind_error(port) is None


def test_port_zero_a_busy_port_and_a_non_ipv4_address_hold_nothing() -> None:
    with port_held(0):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind((LOOPBACK, 0))
        port = busy.getsockname()[1]
        with port_held(port, LOOPBACK):  # the service's own bind reports it, as before
            pass
    with port_held(free_port(), "::1"):
        pass


class Started(Exception):
    """Ends serve() where the embedded backends would have started."""


def test_serve_holds_its_port_while_the_embedded_backends_pick_theirs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    seen: list[int | None] = []

    def start(*args: object, **kwargs: object) -> None:
        seen.append(bind_error(port))
        raise Started

    monkeypatch.setattr(EmbeddedBackends, "start", start)
    with pytest.raises(Started):
        server.serve(with_settings(settings, server_port=port), embedded=True)
    assert seen == [errno.EADDRINUSE]
    assert bind_error(port) is None, "the hold ends with the start"
