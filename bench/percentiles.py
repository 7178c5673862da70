"""A sample of durations summed up in milliseconds: how many, the median, a tail, the worst."""

from __future__ import annotations

import statistics
from typing import Any


def in_ms(values: list[float], tail: int) -> dict[str, Any]:
    """`values` (seconds) as {"n", "median_ms", f"p{tail}_ms", "worst_ms"}, the tail being the
    value at that percentile of the sorted sample; {"n": 0} for no values."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    at = min(len(ordered) - 1, len(ordered) * tail // 100)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        f"p{tail}_ms": ordered[at] * 1000,
        "worst_ms": ordered[-1] * 1000,
    }
