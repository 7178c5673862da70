"""The driver's options (with the --smoke preset) and where its outputs go."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from scenarios import COLD_RANGE

REPO = Path(__file__).resolve().parent.parent
DEFAULTS: dict[str, Any] = {
    "levels": "16,32,64,128,256,512",
    "duration": 8,
    "warm_up": 5,
    "repeat": 3,
    "processes": 2,
    "event_loop": "uvloop",
    "bcrypt_rounds": 12,
    "users": 64,
    "spread_max": 20_000,
    "timeout": 10.0,
    "bcrypt_seconds": 5.0,
    "avatar_runs": 7,
    "forgot_samples": 200,
    "login_samples": 100,
}
# --smoke: every scenario once, briefly, at the lowest bcrypt cost the service accepts.
SMOKE = DEFAULTS | {
    "levels": "16",
    "duration": 1,
    "warm_up": 1,
    "repeat": 1,
    "bcrypt_rounds": 10,
    "users": 8,
    "spread_max": 2_000,
    "bcrypt_seconds": 1.0,
    "avatar_runs": 2,
    "forgot_samples": 20,
    "login_samples": 10,
}


Number = TypeVar("Number", int, float)


def _positive(kind: type[Number]) -> Callable[[str], Number]:
    def parse(raw: str) -> Number:
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {raw}")
        return value

    return parse


def _levels(raw: str) -> list[int]:
    return sorted({_positive(int)(level) for level in raw.split(",")})


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Load-test factsvc with wrk against a bare Tornado reference server.",
        epilog="--smoke changes the defaults to: "
        + ", ".join(f"{k}={v}" for k, v in SMOKE.items() if DEFAULTS[k] != v),
    )

    def add(flag: str, kind: Callable[[str], object], text: str, **extra: Any) -> None:
        default = DEFAULTS[flag.removeprefix("--").replace("-", "_")]
        parser.add_argument(flag, type=kind, help=f"{text} (default {default})", **extra)

    add("--levels", _levels, "connection counts, comma-separated")
    add("--duration", _positive(int), "seconds per run (wrk takes whole seconds)")
    add("--warm-up", _positive(int), "seconds of each scenario before anything is measured")
    add("--repeat", _positive(int), "alternating reference/service runs of hot per level")
    add("--processes", _positive(int), "processes of the service and of the reference")
    add("--event-loop", str, "event loop of both", choices=["uvloop", "asyncio"])
    add("--bcrypt-rounds", int, "BCRYPT_ROUNDS of the service (10-16)")
    add("--users", _positive(int), "users registered for the login scenario")
    add("--spread-max", _positive(int), "largest n of the spread scenario")
    add("--timeout", _positive(float), "wrk's request timeout in seconds")
    add("--bcrypt-seconds", _positive(float), "seconds to measure the bcrypt limit")
    add("--avatar-runs", _positive(int), "avatar uploads of each image, alone and in rounds")
    add("--forgot-samples", _positive(int), "POST /password/forgot answers timed per address")
    add("--login-samples", _positive(int), "POST /login refusals timed per kind")
    parser.add_argument(
        "--idle-connections",
        type=_positive(int),
        help="idle connections of the idle-connection scenario (default: half the open files "
        "limit, raised to its hard limit, less 1000 for everything else)",
    )
    parser.add_argument("--out", type=Path, help="write every output into this directory")
    parser.add_argument("--smoke", action="store_true", help="a quick run of every scenario")
    parser.add_argument(
        "--from-results",
        type=Path,
        help="measure nothing: write the report and charts again from this results JSON",
    )
    options = parser.parse_args(argv)
    for name, value in (SMOKE if options.smoke else DEFAULTS).items():
        if getattr(options, name) is None:
            setattr(options, name, _levels(value) if name == "levels" else value)
    if options.spread_max >= COLD_RANGE[0]:
        parser.error(f"--spread-max must stay below {COLD_RANGE[0]}, where the cold n begin")
    if options.smoke and options.out is None:
        # A smoke run never overwrites the committed results.
        options.out = Path(tempfile.mkdtemp(prefix="factsvc-bench-smoke-"))
    return options


@dataclass(frozen=True)
class Outputs:
    markdown: Path
    results: Path
    throughput_chart: Path
    latency_chart: Path

    @classmethod
    def for_directory(cls, out: Path | None) -> Outputs:
        if out is None:
            charts_dir = REPO / "docs" / "bench"
            return cls(
                REPO / "BENCHMARKS.md",
                REPO / "bench" / "results" / "latest.json",
                charts_dir / "throughput.png",
                charts_dir / "latency.png",
            )
        return cls(
            out / "BENCHMARKS.md",
            out / "latest.json",
            out / "throughput.png",
            out / "latency.png",
        )
