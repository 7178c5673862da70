"""The query parameters the API reads, and the pattern of `n` derived from FACT_MAX_N's default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from factsvc.api_schema.defaults import MAX_N, MAX_N_VARIABLE


def at_most(bound: int) -> str:
    """A regular expression matching exactly the decimal strings of 0..bound, leading zeros
    allowed: any zeros, then fewer digits than `bound` has, or as many and not above it."""
    digits = str(bound)
    shorter = [_any_digits(1, len(digits) - 1)] if len(digits) > 1 else []
    same_length = []
    for i, limit in enumerate(digits):
        # A number as long as `bound` starts with 1-9; a one-digit bound has no shorter ones.
        lowest = 1 if i == 0 and len(digits) > 1 else 0
        if int(limit) > lowest:
            rest = len(digits) - i - 1
            same_length.append(
                digits[:i] + _digit_range(lowest, int(limit) - 1) + _any_digits(rest, rest)
            )
    alternatives = [*shorter, *same_length, digits]
    return "^0*(?:" + "|".join(alternatives) + ")$"


def _any_digits(least: int, most: int) -> str:
    if most == 0:
        return ""
    if least == most:
        return "[0-9]" if most == 1 else f"[0-9]{{{most}}}"
    return f"[0-9]{{{least},{most}}}"


def _digit_range(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


class FactQuery(BaseModel):
    """GET /fact's query string."""

    model_config = ConfigDict(extra="forbid")

    n: str = Field(
        pattern=at_most(MAX_N),
        examples=["20", "05", str(MAX_N)],
        description=(
            f"Given exactly once, in the ASCII digits 0-9 only, with 0 <= n <= {MAX_N_VARIABLE} "
            f"({MAX_N} by default). Leading zeros are allowed (`05` is 5). The pattern "
            "states the default bound: any number of leading zeros, then at most "
            f"{len(str(MAX_N))} significant digits no larger than {MAX_N}. "
            "Anything else (missing, repeated, empty, `1.5`, `-1`, `+7`, ` 5`, `1e3`, too large) "
            "is 400 with `errors.n`."
        ),
    )
