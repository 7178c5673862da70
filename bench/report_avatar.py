"""The avatar uploads' part of BENCHMARKS.md (bench/avatar_upload.py measures it)."""

from __future__ import annotations

from typing import Any

Sample = dict[str, Any]


def report_section(report: Sample | None) -> list[str]:
    lines = ["## Avatar uploads", ""]
    if not report:
        return [*lines, "Not measured.", ""]
    return [
        *lines,
        f"`bench/avatar_upload.py`: images near AVATAR_MAX_BYTES, each uploaded "
        f"{report['runs']} times one at a time and in {report['runs']} rounds of "
        f"{report['concurrency']} at once (AVATAR_MAX_PENDING) by as many users, to the "
        "service of one process on its embedded backends with the default avatar settings "
        "(AVATAR_WORKERS=1: one process decodes); and make_thumbnail alone.",
        "",
        *report_lines(report),
        "",
    ]


def _cell(stats: Sample, key: str) -> str:
    return f"{stats[key]:.1f}" if key in stats else "-"


def report_lines(report: Sample) -> list[str]:
    """Markdown tables of `measure`'s report: milliseconds, median and worst."""
    concurrency = report["concurrency"]
    lines = ["| image | what |", "|---|---|"]
    lines += [f"| {name} | {what} |" for name, what in report["images"].items()]
    lines += [
        "",
        "make_thumbnail alone (ms): time median / worst; this process's loop lag median / worst",
        "",
        "| image | thread time | thread loop lag | process time | process loop lag |",
        "|---|---|---|---|---|",
    ]
    for name, entry in report["alone"].items():
        cells = []
        for where in ("thread", "process"):
            for part in ("time", "loop_lag"):
                stats = entry[where][part]
                cells.append(f"{_cell(stats, 'median_ms')} / {_cell(stats, 'worst_ms')}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    end_to_end = report.get("end_to_end")
    if end_to_end:
        lines += [
            "",
            "PUT /account/avatar end to end (ms): upload median / worst; GET /healthz every 5 ms "
            "meanwhile median / worst; the service's lag probe: samples, worst bucket bound",
            "",
            "| image | uploads at once | upload | healthz | service probe |",
            "|---|---|---|---|---|",
        ]
        idle = end_to_end["idle"]
        lines.append(_end_to_end_row("(idle)", "-", {"upload": {}, **idle}))
        for name, entry in end_to_end.items():
            if isinstance(entry, dict) and "one_at_a_time" in entry:
                lines.append(_end_to_end_row(name, "1", entry["one_at_a_time"]))
                lines.append(_end_to_end_row(name, str(concurrency), entry["at_once"]))
    return lines


def _end_to_end_row(name: str, at_once: str, phase: Sample) -> str:
    upload, healthz, probe = phase["upload"], phase["healthz"], phase["service_probe"]
    return (
        f"| {name} | {at_once} | {_cell(upload, 'median_ms')} / {_cell(upload, 'worst_ms')} "
        f"| {_cell(healthz, 'median_ms')} / {_cell(healthz, 'worst_ms')} "
        f"| {probe['samples']}, <= {probe['worst_at_most_ms']:.1f} |"
    )
