"""Holding the service's own port while other servers pick free ports beside it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def port_held(port: int, address: str = "") -> Iterator[None]:
    """Keep TCP `port` bound, without listening, on `address` ("" or "0.0.0.0": every IPv4
    address) for the block, so that no port the kernel hands out for port 0 meanwhile (the
    embedded backends' free ports) is the service's own, which it binds only after them.

    Port 0, an address that is not IPv4, and a port already in use hold nothing: the service's
    own bind reports a busy port as before. Raises nothing of its own."""
    if port == 0:
        yield
        return
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind((address, port))  # "" is every IPv4 address; bound, never listening
    except OSError:
        holder.close()
        yield
        return
    try:
        yield
    finally:
        holder.close()
