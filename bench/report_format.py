"""Markdown cells and tables of BENCHMARKS.md: durations, numbers, counts."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def number(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def counts(found: dict[str, int]) -> str:
    return ", ".join(f"{key}: {value:,}" for key, value in found.items()) or "-"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return [*lines, ""]


def socket_errors(row: Row) -> str:
    errors = {k: v for k, v in row["socket_errors"].items() if v}
    return counts(errors) if errors else "0"


def size_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    if value < 1024 * 1024:
        return f"{value / 1024:,.1f} KiB"
    return f"{value / 1024 / 1024:,.1f} MiB"


def size_kib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024:,.1f} MiB"
