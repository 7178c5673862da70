"""The login refusals' part of BENCHMARKS.md (bench/login_timing.py measures it)."""

from __future__ import annotations

from typing import Any

Sample = dict[str, Any]


def report_section(report: Sample | None) -> list[str]:
    lines = ["## Login refusals: wrong password and unknown user", ""]
    if not report:
        return [*lines, "Not measured.", ""]
    return [
        *lines,
        f"`bench/login_timing.py` (at {report['measured_at']}): POST /login refused "
        f"{report['samples']} times for a wrong password and for an unknown username, "
        "interleaved on one keep-alive connection, to the service of one process on its "
        f"embedded backends at bcrypt cost {report['bcrypt_rounds']}. The suite proves the "
        "cause (tests/http/test_accounts_api.py: each refusal runs exactly one bcrypt check at "
        "the configured cost); these figures show the outcome, measured.",
        "",
        *report_lines(report),
        "",
    ]


def report_lines(report: Sample) -> list[str]:
    """A Markdown table of `login_timing.measure`'s report (milliseconds), the ratio of the
    medians against its target, and the machine's load."""
    lines = ["| refusal | answers | median | p95 | worst |", "|---|---|---|---|---|"]
    for kind, figures in report["kinds"].items():
        lines.append(
            f"| {kind} | {figures['n']} | {figures['median_ms']:.1f} ms "
            f"| {figures['p95_ms']:.1f} ms | {figures['worst_ms']:.1f} ms |"
        )
    before = ", ".join(f"{value:.2f}" for value in report["load_before"])
    after = ", ".join(f"{value:.2f}" for value in report["load_after"])
    met = "yes" if report["within_target"] else "no"
    return [
        *lines,
        "",
        f"Unknown user's median ÷ wrong password's: {report['median_ratio']:.3f} "
        f"(target within {report['median_tolerance']:.0%}: {met}).",
        f"Load average (1, 5, 15 min) on {report['cpus']} CPUs: {before} before, {after} after.",
    ]
