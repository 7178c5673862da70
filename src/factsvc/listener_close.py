"""Closing listening sockets without resetting a connection that reached them.

Closing a listener resets every connection in its accept queue, a request it may have sent
included, and the kernel queues new ones until the very close. So new connections are refused
first: on Linux a socket filter drops each SYN (the client sends it again a second later and
then finds the port closed), while handshakes under way complete. Then the queues are emptied
into the server and the listeners closed.
"""

from __future__ import annotations

import asyncio
import ctypes
import socket
import struct
import sys
from collections.abc import Iterable, Iterator
from typing import Any

# One round trip: time for a handshake under way when SYNs began to be dropped to complete.
HANDSHAKE_SECONDS = 0.25

# <linux/filter.h>: classic BPF, and the socket option that attaches a program to a socket.
SO_ATTACH_FILTER = 26
_LD_B_ABS, _AND_K, _JEQ_K, _RET_K = 0x30, 0x54, 0x15, 0x06
_SYN, _ACK = 0x02, 0x10
# A TCP socket's filter reads each segment from its TCP header, whose byte 13 holds the flags:
# a SYN without ACK opens a connection and is dropped (0 bytes kept); the rest is kept whole.
_DROP_SYN = (
    (_LD_B_ABS, 0, 0, 13),
    (_AND_K, 0, 0, _SYN | _ACK),
    (_JEQ_K, 0, 1, _SYN),
    (_RET_K, 0, 0, 0),
    (_RET_K, 0, 0, 0xFFFFFFFF),
)


def drop_new_connections(listener: socket.socket) -> bool:
    """Drop every SYN that reaches `listener` from now on; False where the system does not
    allow it (not Linux, or the option refused)."""
    if sys.platform != "linux":
        return False
    program = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *instruction) for instruction in _DROP_SYN)
    )
    sock_fprog = struct.pack("HP", len(_DROP_SYN), ctypes.addressof(program))
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog)
    except OSError:
        return False
    return True


async def refuse_new_connections(listeners: Iterable[socket.socket]) -> None:
    """Make `listeners` take no new connection, then wait HANDSHAKE_SECONDS for the handshakes
    under way (the server goes on accepting meanwhile); no wait where SYNs cannot be dropped."""
    if [listener for listener in listeners if drop_new_connections(listener)]:
        await asyncio.sleep(HANDSHAKE_SECONDS)


def queued_connections(listeners: Iterable[socket.socket]) -> Iterator[tuple[socket.socket, Any]]:
    """Each connection waiting in the accept queue of a (non-blocking) listener, with its
    peer's address."""
    for listener in listeners:
        while True:
            try:
                yield listener.accept()
            except OSError:  # BlockingIOError: the queue is empty
                break
