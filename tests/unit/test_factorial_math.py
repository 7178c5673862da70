"""The GMP computation and the shape checks applied to cached values."""

from __future__ import annotations

import math

import pytest

from factsvc.services.factorial_math import (
    digit_count_candidates,
    factorial_decimal,
    is_plausible_factorial,
    trailing_zeros_of_factorial,
)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 20, 21, 100, 1000, 1558])
def test_factorial_decimal_agrees_with_math_factorial(n: int) -> None:
    assert factorial_decimal(n) == str(math.factorial(n))


@pytest.mark.parametrize("n", [0, 1, 4, 5, 25, 100, 1000, 1558])
def test_shape_facts_agree_with_the_real_value(n: int) -> None:
    decimal = str(math.factorial(n))
    assert len(decimal) in digit_count_candidates(n)
    assert len(decimal) - len(decimal.rstrip("0")) == trailing_zeros_of_factorial(n)
    assert is_plausible_factorial(n, decimal)


def test_the_real_value_of_a_large_n_is_plausible() -> None:
    n = 100_000
    decimal = factorial_decimal(n)
    assert len(decimal) == 456_574
    assert is_plausible_factorial(n, decimal)


@pytest.mark.parametrize(
    ("n", "claimed"),
    [
        (30, str(math.factorial(29))),  # (n-1)!
        (30, str(math.factorial(30))[:-1]),  # truncated
        (30, str(math.factorial(30))[1:]),  # lost its first digit
        (30, "0" + str(math.factorial(30))),
        (30, str(math.factorial(30)) + " "),
        (5, "12O"),
        (5, "١٢٠"),
        (5, ""),
    ],
)
def test_malformed_values_are_not_plausible(n: int, claimed: str) -> None:
    assert not is_plausible_factorial(n, claimed)
