"""The staged close of a connection whose head outgrew the limit owns its socket to the end."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from factsvc.http_connection import EnvelopeStream
from factsvc.open_connections import OpenConnections
from factsvc.staged_close import HEAD_REST_SECONDS


def test_a_stop_that_cancels_the_wait_for_the_rest_of_a_head_closes_its_socket() -> None:
    async def cancelled_wait() -> socket.socket:
        server_side, client_side = socket.socketpair()
        server_side.setblocking(False)
        stream = EnvelopeStream(server_side.dup(), set(), (), OpenConnections())
        stream._overflow = b"GET /fact HTTP/1.1\r\nX-Pad: ppp"
        task = asyncio.ensure_future(stream._answer_in_stages(server_side))
        await asyncio.sleep(HEAD_REST_SECONDS / 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stream.close()
        client_side.close()
        return server_side

    assert asyncio.run(cancelled_wait()).fileno() == -1
