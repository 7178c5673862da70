"""bench/run.py --smoke: every scenario runs against the real service and leaves its outputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = (
    "hot",
    "spread",
    "big",
    "cold",
    "login",
    "info_cookie",
    "info_bearer",
    "journey",
    "probe",
)
LOGGING_ROWS = ("reference", "service, logging quiet", "service", "service, logging DEBUG")
PROXIED_ROWS = (
    "instance direct",
    "nginx, 1 instance",
    "nginx, 1 instance, proxy cache",
    "nginx, 2 instances",
    "nginx, 2 instances, proxy cache",
)
RUN_SECONDS = 300


def wrk_unavailable_reason() -> str | None:
    """Why wrk can be neither found nor installed here; None when the run can get it (the
    driver installs it with apt-get when it is missing)."""
    if shutil.which("wrk"):
        return None
    if shutil.which("apt-get") is None:
        return "wrk is not installed and apt-get is not available to install it"
    if os.geteuid() != 0:
        return "wrk is not installed and installing it with apt-get needs root"
    return None


@pytest.mark.timeout(RUN_SECONDS + 60)
def test_smoke_run_measures_every_scenario_and_writes_its_outputs(tmp_path: Path) -> None:
    reason = wrk_unavailable_reason()
    if reason:
        pytest.skip(reason)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=RUN_SECONDS)
    finally:
        if process.poll() is None:
            # SIGTERM lets the driver stop the servers it started.
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)

    assert process.returncode == 0, stderr[-4000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    for name in SCENARIOS:
        rows = results["summary"]["scenarios"][name]
        assert rows, f"{name}: no run recorded"
        for row in rows:
            rate = row["requests_per_second"]
            assert isinstance(rate, int | float), (name, row)
            assert rate > 0, (name, row)
    logging = results["summary"]["logging"]["rows"]
    assert set(logging) == set(LOGGING_ROWS), logging.keys()
    for name, row in logging.items():
        assert row["requests_per_second"] > 0, (name, row)
        assert row["ratio_to_reference"] > 0, (name, row)
        assert row["p99_ratio_to_reference"] > 0, (name, row)
    idle = results["summary"]["idle"]
    # Every idle connection made its request and was still open after the runs beside them.
    assert idle["asked"] == idle["opened"] == idle["still_open"] > 0, idle
    assert idle["kib_per_connection"] > 0, idle
    assert set(idle["rows"]) == {
        "service, no idle connections",
        "service, beside the idle connections",
    }
    proxied = results["summary"]["proxied"]["scenarios"]
    assert set(proxied) == {"hot", "big"}, proxied.keys()
    for name, rows in proxied.items():
        assert set(rows) == set(PROXIED_ROWS), (name, rows.keys())
        assert all(row["requests_per_second"] > 0 for row in rows.values()), (name, rows)
    # The cached nginxes answered from their cache: every n was fetched once, then HITs.
    cache = results["proxy_cache_statuses"]
    assert set(cache) == {"nginx, 1 instance, proxy cache", "nginx, 2 instances, proxy cache"}
    for name, statuses in cache.items():
        assert statuses.get("HIT", 0) > statuses.get("MISS", 0) > 0, (name, statuses)
    crawl = results["crawl"]
    assert crawl is not None, "no cache crawl recorded"
    assert sum(crawl["statuses"].values()) == crawl["requests"] > 0, crawl
    # Redis keeps used_memory within maxmemory by evicting; a little over is allowed for the
    # moment between a write and the eviction it causes.
    assert crawl["after"]["used_memory"] <= crawl["max_bytes"] * 1.05, crawl
    assert crawl["session_valid"], crawl["session_after"]
    avatar = results["avatar"]
    assert avatar is not None, "no avatar uploads recorded"
    for name in avatar["images"]:
        for phase in ("one_at_a_time", "at_once"):
            uploads = avatar["end_to_end"][name][phase]["upload"]
            assert uploads["n"] > 0, (name, phase, uploads)
            assert uploads["worst_ms"] > 0, (name, phase, uploads)
    forgot = results["forgot"]
    assert forgot is not None, "no password forgot timing recorded"
    assert set(forgot["kinds"]) == {"verified", "unverified", "unknown"}, forgot["kinds"]
    for kind, figures in forgot["kinds"].items():
        assert figures["n"] == forgot["samples"] > 0, (kind, figures)
        assert 0 < figures["median_ms"] <= figures["p95_ms"], (kind, figures)
    refusals = results["login_refusals"]
    assert refusals is not None, "no login refusal timing recorded"
    assert set(refusals["kinds"]) == {"wrong_password", "unknown_user"}, refusals["kinds"]
    for kind, figures in refusals["kinds"].items():
        assert figures["n"] == refusals["samples"] > 0, (kind, figures)
        assert 0 < figures["median_ms"] <= figures["p95_ms"], (kind, figures)
    for record in results["records"]:
        assert record["unexpected"] == {}, record
    markdown = (tmp_path / "BENCHMARKS.md").read_text()
    assert "## Avatar uploads" in markdown
    assert "## Password forgot: answer time by address" in markdown
    assert "## Login refusals: wrong password and unknown user" in markdown
