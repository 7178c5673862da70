"""The ceiling: a bare Tornado application answering a constant envelope like /fact's.

Started like the service (same port binding, same process count, same event loop), so the
difference between the two is what the service itself costs per request.

    python bench/reference_server.py --port 8899 --processes 2 [--event-loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys

import orjson
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from factsvc.handlers.http_caching import FACT_CACHE_CONTROL, fact_entity_tag

# The same bytes /fact?n=12 answers with, so both sides send the same amount: its body, and
# its caching headers (src/factsvc/handlers/factorial.py).
BODY = orjson.dumps(
    {"code": 0, "message": "", "n": 12, "fact": "479001600", "digits": 9, "cached": True}
)
CACHE_CONTROL = FACT_CACHE_CONTROL
ETAG = fact_entity_tag(12)


class ConstantHandler(RequestHandler):
    def compute_etag(self) -> None:
        return None

    async def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", CACHE_CONTROL)
        self.set_header("ETag", ETAG)
        self.finish(BODY)


async def serve(sockets: list[socket.socket]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = HTTPServer(Application([(r"/.*", ConstantHandler)]))
    server.add_sockets(sockets)
    await stop.wait()
    server.stop()
    await server.close_all_connections()


def run(sockets: list[socket.socket], event_loop: str) -> None:
    if event_loop == "uvloop":
        import uvloop

        uvloop.run(serve(sockets))
    else:
        asyncio.run(serve(sockets))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    if args.processes == 1:
        run(bind_sockets(args.port, "127.0.0.1"), args.event_loop)
        return 0
    # As the service does: a listening socket per process on the same port (SO_REUSEPORT).
    children = []
    for _ in range(args.processes):
        pid = os.fork()
        if pid == 0:
            try:
                run(bind_sockets(args.port, "127.0.0.1", reuse_port=True), args.event_loop)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        while True:
            try:
                os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
