"""What the service's own /metrics says: jobs left in its CPU pools, its in-memory cache size."""

from __future__ import annotations

import re
import time

from prepare import Client

# Gauges summed (queue depth) or maxed (cache) over the workers by the service itself.
_QUEUE_DEPTH = re.compile(r"^factsvc_cpu_queue_depth\{[^}]*\}\s+(\S+)$", re.MULTILINE)
_LOCAL_CACHE = re.compile(r"^factsvc_fact_local_cache_bytes(?:\{[^}]*\})?\s+(\S+)$", re.MULTILINE)
# The service samples its queues twice a second: two empty samples in a row are two samplings.
POLL_SECONDS = 0.5
QUIET_SAMPLES = 2


def _exposition(url: str) -> str:
    status, body, _ = Client(url).call("GET", "/metrics")
    return body.decode() if status == 200 else ""


def local_cache_bytes(url: str) -> int | None:
    """The largest in-process factorial cache over the workers, in bytes."""
    found = _LOCAL_CACHE.search(_exposition(url))
    return int(float(found.group(1))) if found else None


def wait_until_idle(url: str, timeout: float) -> float | None:
    """Wait until no job is queued or running in the service's CPU pools (bcrypt, factorial),
    such as the work a finished run left behind; the seconds waited, None on timeout."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < timeout:
        depths = [float(depth) for depth in _QUEUE_DEPTH.findall(_exposition(url))]
        quiet = quiet + 1 if not any(depths) else 0
        if quiet >= QUIET_SAMPLES:
            return time.monotonic() - started
        time.sleep(POLL_SECONDS)
    return None
