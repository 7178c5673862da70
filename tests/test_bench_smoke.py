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
RUN_SECONDS = 240


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
    proxied = results["summary"]["proxied"]["rows"]
    assert set(proxied) == {"instance direct", "nginx, 1 instance", "nginx, 2 instances"}
    assert all(row["requests_per_second"] > 0 for row in proxied.values()), proxied
    crawl = results["crawl"]
    assert crawl is not None, "no cache crawl recorded"
    assert sum(crawl["statuses"].values()) == crawl["requests"] > 0, crawl
    # Redis keeps used_memory within maxmemory by evicting; a little over is allowed for the
    # moment between a write and the eviction it causes.
    assert crawl["after"]["used_memory"] <= crawl["max_bytes"] * 1.05, crawl
    assert crawl["session_valid"], crawl["session_after"]
    for record in results["records"]:
        assert record["unexpected"] == {}, record
    assert (tmp_path / "BENCHMARKS.md").is_file()
