"""Exact factorials with GMP, and cheap structural checks of a claimed n! in decimal."""

from __future__ import annotations

import math

import gmpy2


def factorial_decimal(n: int) -> str:
    """n! in decimal; GMP converts in near-linear time where CPython's str() is quadratic."""
    return str(gmpy2.fac(n).digits(10))


def trailing_zeros_of_factorial(n: int) -> int:
    count, power = 0, 5
    while power <= n:
        count += n // power
        power *= 5
    return count


def digit_count_candidates(n: int) -> tuple[int, int]:
    """The one or two possible lengths of n! in decimal, from log10(n!) via lgamma."""
    if n < 2:
        return (1, 1)
    log10 = math.lgamma(n + 1) / math.log(10)
    # lgamma is accurate to ~1e-15 relative; widen only when log10 sits on an integer.
    return (math.floor(log10 - 1e-9) + 1, math.floor(log10 + 1e-9) + 1)


def is_plausible_factorial(n: int, decimal: str) -> bool:
    """True when `decimal` has the shape of n!: digits only, exact length and trailing zeros."""
    if not decimal.isascii() or not decimal.isdigit() or decimal[0] == "0":
        return False
    shortest, longest = digit_count_candidates(n)
    if not shortest <= len(decimal) <= longest:
        return False
    return len(decimal) - len(decimal.rstrip("0")) == trailing_zeros_of_factorial(n)
