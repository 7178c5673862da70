"""Header values the handlers parse themselves: Content-Length against the body limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factsvc.handlers.header_values import declares_more_than

LIMIT = 65536


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("65536", False),
        ("65537", True),
        ("000065537", True),
        ("0" * 5000 + "1", False),
        ("1" * 5000, True),
        ("9" * 5000, True),
    ],
)
def test_a_length_in_ascii_digits_is_compared_with_the_limit(value: str, expected: bool) -> None:
    assert declares_more_than(value, LIMIT) is expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "²",
        "1³",
        "\u0661\u0660\u0660\u0660\u0660\u0660\u0660",
        "+70000",
        "-1",
        "7e4",
        " 70000",
        "1,2",
    ],
)
def test_a_value_not_in_ascii_digits_declares_nothing(value: str) -> None:
    assert declares_more_than(value, LIMIT) is False


# Deterministic in CI: a fixed seed and no database of past failures.
@settings(derandomize=True, database=None)
@given(st.integers(0, 10**30), st.integers(0, 10**20), st.integers(0, 3))
def test_the_comparison_is_that_of_the_numbers(declared: int, limit: int, zeros: int) -> None:
    assert declares_more_than("0" * zeros + str(declared), limit) is (declared > limit)


@settings(derandomize=True, database=None)
@given(st.text(st.characters(codec="latin-1"), max_size=6000))
def test_no_latin_1_text_raises(value: str) -> None:
    declares_more_than(value, LIMIT)
