"""The password-forgot timing's part of BENCHMARKS.md (bench/forgot_timing.py measures it)."""

from __future__ import annotations

from typing import Any

Sample = dict[str, Any]


def report_section(report: Sample | None) -> list[str]:
    lines = ["## Password forgot: answer time by address", ""]
    if not report:
        return [*lines, "Not measured.", ""]
    return [
        *lines,
        f"`bench/forgot_timing.py` (at {report['measured_at']}): POST /password/forgot "
        f"{report['samples']} times for each of a verified address (which gets a reset "
        "mail), an unverified one and an unknown one, interleaved on one keep-alive "
        "connection, to the service of one process on its embedded backends and mail sink; "
        "after each answer the driver waits for the reset mail (verified) and "
        f"{report['pause_ms']:.0f} ms (every kind), so that no answer shares the loop with "
        "the previous one's background work. The answer never waits for the look-up "
        "(tests/http/test_password_reset_api.py holds the look-up and still gets the 202): "
        "these figures show what is left, measured.",
        "",
        *report_lines(report),
        "",
    ]


def report_lines(report: Sample) -> list[str]:
    """A Markdown table of `measure`'s report (milliseconds) and the machine's load."""
    lines = [
        "| address | answers | median | p95 | worst | median ÷ unknown's | p95 ÷ unknown's |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, figures in report["kinds"].items():
        lines.append(
            f"| {kind} | {figures['n']} | {figures['median_ms']:.2f} ms "
            f"| {figures['p95_ms']:.2f} ms | {figures['worst_ms']:.2f} ms "
            f"| {figures['median_ratio']:.3f} | {figures['p95_ratio']:.3f} |"
        )
    before = ", ".join(f"{value:.2f}" for value in report["load_before"])
    after = ", ".join(f"{value:.2f}" for value in report["load_after"])
    lines += [
        "",
        f"Load average (1, 5, 15 min) on {report['cpus']} CPUs: {before} before, {after} after.",
    ]
    return lines
