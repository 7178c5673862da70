"""RFC 9112 §9.6's staged close of a refused connection, and the wait for the rest of a head
over the limit, whose later lines the refusal reads."""

from __future__ import annotations

import asyncio
import socket

from factsvc.refused_head import head_end

LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 1 << 20
# When a head outgrows the limit, its later lines (Origin, X-Request-ID) may still be on their
# way: the answer waits this long at most, for this many bytes at most, for the head's end.
HEAD_REST_SECONDS = 0.25
HEAD_REST_MAX_BYTES = 256 << 10


async def rest_of_head(sock: socket.socket, received: bytes) -> bytes:
    """`received` (the start of a head over the limit) and what follows it on `sock` up to
    the end of the head, at most HEAD_REST_MAX_BYTES more for at most HEAD_REST_SECONDS."""
    start = len(received) - len(received.lstrip(b"\r\n"))
    if head_end(received, start) is not None:
        return received
    buffer = bytearray(received)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(HEAD_REST_SECONDS):
            while len(buffer) - len(received) < HEAD_REST_MAX_BYTES:
                chunk = await loop.sock_recv(sock, 64 * 1024)
                if not chunk:
                    break
                buffer += chunk
                # The end may straddle the chunk's start: "\n\r\n" is three bytes long.
                if head_end(buffer, max(start, len(buffer) - len(chunk) - 2)) is not None:
                    break
    except (OSError, TimeoutError):
        pass  # what came is all there is to read the head from
    return bytes(buffer)


async def close_in_stages(sock: socket.socket, answer: bytes) -> None:
    """Send `answer`, half-close, read and drop what still comes (at most LINGER_MAX_BYTES for
    LINGER_SECONDS), then close: RFC 9112 §9.6's staged close."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            if answer:
                await loop.sock_sendall(sock, answer)
            sock.shutdown(socket.SHUT_WR)
            dropped = 0
            while dropped < LINGER_MAX_BYTES:
                chunk = await loop.sock_recv(sock, 64 * 1024)
                if not chunk:
                    break
                dropped += len(chunk)
    except (OSError, TimeoutError):
        pass  # the client left or took too long: nothing more is owed to it
    finally:
        sock.close()
