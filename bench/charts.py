"""Two PNG charts of the summary: requests/s and latency against connections."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios import HOT, PER_LEVEL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LATENCY_PERCENTILES = ("p50", "p90", "p99")


def draw(results: dict[str, Any], throughput: Path, latency: Path) -> bool:
    """Draw both charts; False (and a note on stderr) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no charts drawn", file=sys.stderr)
        return False
    summary = results["summary"]
    levels = results["options"]["levels"]

    figure, axes = plt.subplots(figsize=(9, 5.5))
    _line(axes, summary["reference"], "requests_per_second", "reference", style="k--")
    for scenario in PER_LEVEL:
        _line(axes, summary["scenarios"][scenario.name], "requests_per_second", scenario.name)
    _finish(axes, levels, "requests/s", "Throughput by connections")
    figure.tight_layout()
    figure.savefig(throughput, dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(9, 5.5))
    for rows, name, style in (
        (summary["scenarios"][HOT.name], "hot", "-"),
        (summary["reference"], "reference", "--"),
    ):
        for color, percentile in enumerate(LATENCY_PERCENTILES):
            points = [(r["connections"], r["latency_ms"][percentile]) for r in rows]
            axes.plot(
                *_positive(points),
                style,
                color=f"C{color}",
                marker="o",
                label=f"{name} {percentile}",
            )
    _finish(axes, levels, "latency (ms)", "Hot and reference latency by connections")
    figure.tight_layout()
    figure.savefig(latency, dpi=110)
    plt.close(figure)
    return True


def _positive(points: list[tuple[int, float | None]]) -> tuple[list[int], list[float]]:
    """The points a log scale can show: a run with no answers has no latency and no rate."""
    kept = [(x, y) for x, y in points if y]
    return [x for x, _ in kept], [y for _, y in kept]


def _line(axes: Axes, rows: list[dict[str, Any]], key: str, label: str, style: str = "-") -> None:
    points = [(r["connections"], r[key]) for r in rows]
    axes.plot(*_positive(points), style, marker="o", label=label)


def _finish(axes: Axes, levels: list[int], ylabel: str, title: str) -> None:
    from matplotlib.ticker import LogFormatter

    axes.set_yscale("log")
    # Plain numbers (20, not 2 x 10^1); the minor ticks it labels are the same as by default.
    axes.yaxis.set_major_formatter(LogFormatter())
    axes.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    axes.set_xscale("log", base=2)
    axes.set_xticks(levels, [str(level) for level in levels])
    axes.set_xlabel("connections")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
