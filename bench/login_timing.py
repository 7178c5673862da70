"""POST /login's refusal time for a wrong password and for an unknown username, against the
real service on its embedded backends (as `make run` starts it).

.venv/bin/python bench/login_timing.py [--samples 100] [--out FILE.json]

The two kinds are interleaved (each round in the other order) on one keep-alive connection.
Both refusals should take one bcrypt check's time (tests/http/test_accounts_api.py proves that
each runs exactly one check at the configured cost); the ratio of the medians says how near the
times are, measured. It was a test's assertion (within 25 %), until a loaded machine tipped it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from percentiles import in_ms
from prepare import Client
from report_login import report_lines
from servers import start_service

BIN = Path(sys.executable).parent
SAMPLES = 100
# The service's default cost: the time to compare is the production one.
BCRYPT_ROUNDS = 12
KINDS = ("wrong_password", "unknown_user")
USERNAMES = {"wrong_password": "alice", "unknown_user": "nobody"}
PASSWORD = secrets.token_urlsafe(12)
# The target the removed test held: the unknown user's median within this fraction of the
# wrong password's.
MEDIAN_TOLERANCE = 0.25
Sample = dict[str, Any]


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def refusal_times(client: Client, samples: int) -> dict[str, list[float]]:
    """`samples` refusals of each kind, interleaved, each round starting with the other kind."""
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for index in range(samples):
        order = KINDS if index % 2 == 0 else KINDS[::-1]
        for kind in order:
            body = {"username": USERNAMES[kind], "password": "not the password"}
            started = time.perf_counter()
            status, answer, _ = client.call("POST", "/login", body)
            times[kind].append(time.perf_counter() - started)
            if status != 401:
                raise RuntimeError(f"POST /login: {status} {answer[:300]!r}")
    return times


def measure(
    samples: int = SAMPLES,
    bcrypt_rounds: int = BCRYPT_ROUNDS,
    log: Callable[[str], None] = progress,
) -> Sample:
    """Refusal times per kind against `factsvc serve --embedded` of one process with the
    default settings but the login limits raised out of the way; milliseconds, with the ratio
    of the medians and the machine's load averages before and after, as JSON-ready values."""
    with tempfile.TemporaryDirectory(prefix="factsvc-login-bench-") as work_dir:
        server, _ = start_service(
            BIN,
            Path(work_dir),
            processes=1,
            event_loop="uvloop",
            bcrypt_rounds=bcrypt_rounds,
            name="service-login",
        )
        try:
            client = Client(server.url)
            body = {"username": USERNAMES["wrong_password"], "password": PASSWORD}
            client.expect(201, "POST", "/register", body)
            log(f"login refusals: {samples} of each kind, interleaved")
            load_before = [round(value, 2) for value in os.getloadavg()]
            times = refusal_times(client, samples)
            load_after = [round(value, 2) for value in os.getloadavg()]
        finally:
            server.stop()
    kinds = {kind: in_ms(values, 95) for kind, values in times.items()}
    ratio = kinds["unknown_user"]["median_ms"] / kinds["wrong_password"]["median_ms"]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "samples": samples,
        "bcrypt_rounds": bcrypt_rounds,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "kinds": kinds,
        "median_ratio": ratio,
        "median_tolerance": MEDIAN_TOLERANCE,
        "within_target": abs(ratio - 1) <= MEDIAN_TOLERANCE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--bcrypt-rounds", type=int, default=BCRYPT_ROUNDS)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    report = measure(options.samples, options.bcrypt_rounds)
    print("\n".join(report_lines(report)))
    if options.out:
        options.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
