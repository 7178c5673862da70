"""The crawl of issue 12: distinct large n against a bounded cache server, its memory before and
after, and whether a session opened before the crawl still works after it."""

from __future__ import annotations

import argparse
import http.client
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis

from prepare import Users
from servers import LOOPBACK, Server, start_service

# Full run: as the crawler did, 400 distinct n from 90000 up, within 64 MiB.
FULL = {"first_n": 90_000, "count": 400, "max_bytes": 64 << 20}
# --smoke: enough n from 20000 up (about 100 kB each) to overflow a 4 MiB cache server.
SMOKE = {"first_n": 20_000, "count": 48, "max_bytes": 4 << 20}
# Parallel requests of the crawler: below FACT_MAX_PENDING, so that nothing is shed.
CONCURRENCY = 4


def _redis_port(command: str) -> int | None:
    """The port in a redis-server's command line: its --port argument, or the address in the
    process title redis-server sets in place of its arguments ("redis-server 127.0.0.1:6379")."""
    words = command.split()
    if "--port" in words:
        return int(words[words.index("--port") + 1])
    address = next((w for w in words[1:] if w.startswith(f"{LOOPBACK}:")), None)
    return None if address is None else int(address.rsplit(":", 1)[1])


def cache_server_port(service: Server) -> int:
    """The port of the service's embedded cache server: of the redis-servers it started, the
    one with a maxmemory (src/factsvc/embedded.py redis_cache_server). Raises LookupError if
    there is none."""
    for process in service.service_processes()["backends"]:
        port = _redis_port(process.command) if "redis-server" in process.command else None
        if port is None:
            continue
        client = redis.Redis(host=LOOPBACK, port=port, socket_timeout=5)
        try:
            maxmemory = int(client.config_get("maxmemory").get("maxmemory") or 0)
        finally:
            client.close()
        if maxmemory:
            return port
    raise LookupError("no embedded redis-server with a maxmemory among the service's processes")


def cache_memory(port: int) -> dict[str, int]:
    """INFO memory's used_memory and used_memory_peak, and INFO stats' evicted_keys, in bytes
    and keys, of the Redis on `port`."""
    client = redis.Redis(host=LOOPBACK, port=port, socket_timeout=5)
    try:
        memory = client.info("memory")
        stats = client.info("stats")
    finally:
        client.close()
    return {
        "used_memory": int(memory["used_memory"]),
        "used_memory_peak": int(memory["used_memory_peak"]),
        "evicted_keys": int(stats["evicted_keys"]),
    }


def _status(port: int, path: str, timeout_s: float, headers: dict[str, str]) -> str:
    """The HTTP status of one GET as text, or the name of the error that stopped it."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout_s)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return str(response.status)
    except TimeoutError:
        return "timeout"
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    finally:
        connection.close()


def crawl(port: int, values: range, timeout_s: float) -> dict[str, int]:
    """GET /fact?n= once for each n, CONCURRENCY at a time; the count of each status."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        found = pool.map(lambda n: _status(port, f"/fact?n={n}", timeout_s, {}), values)
        return dict(sorted(Counter(found).items()))


def measure(
    bin_dir: Path, work_dir: Path, options: argparse.Namespace, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Start the service as the benchmark does, its cache server bounded to the crawl's
    FACT_CACHE_MAX_BYTES; open a session, crawl, then read the session back. The record:
    bound, n crawled, statuses, the cache server's memory before and after, the session's
    statuses after the crawl and whether both are 200."""
    plan = SMOKE if options.smoke else FULL
    bound = plan["max_bytes"]
    values = range(plan["first_n"], plan["first_n"] + plan["count"])
    with ExitStack() as stack:
        service, _ = start_service(
            bin_dir,
            work_dir / "crawl",
            processes=options.processes,
            event_loop=options.event_loop,
            bcrypt_rounds=options.bcrypt_rounds,
            extra_env={"FACT_CACHE_MAX_BYTES": str(bound)},
        )
        stack.callback(service.stop)
        users = Users.make(1)
        users.register(service.url)
        ((token, cookie),) = users.log_in(service.url, 1)
        cache_port = cache_server_port(service)
        before = cache_memory(cache_port)
        progress(f"crawling n = {values.start}..{values.stop - 1} with the cache at {bound:,} B")
        statuses = crawl(service.port, values, options.timeout)
        after = cache_memory(cache_port)
        session = {
            "bearer": _status(
                service.port, "/account/info", 10.0, {"Authorization": f"Bearer {token}"}
            ),
            "cookie": _status(service.port, "/account/info", 10.0, {"Cookie": cookie}),
        }
    return {
        "max_bytes": bound,
        "first_n": values.start,
        "requests": len(values),
        "statuses": statuses,
        "before": before,
        "after": after,
        "session_after": session,
        "session_valid": all(status == "200" for status in session.values()),
    }
