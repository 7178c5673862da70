"""CORS_ALLOWED_HEADERS and CORS_MAX_AGE_SECONDS: defaults, parsing and bounds."""

from __future__ import annotations

import pytest

from factsvc.config import ConfigError, Settings


def test_the_default_headers_are_the_apis_and_w3c_trace_contexts() -> None:
    settings = Settings()
    assert settings.cors_allowed_headers == (
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "X-Request-ID",
        "traceparent",
        "tracestate",
    )
    assert settings.cors_max_age_seconds == 7200


def test_headers_are_comma_separated_tokens_with_spaces_and_empty_items_ignored() -> None:
    settings = Settings.from_env({"CORS_ALLOWED_HEADERS": " Content-Type,, x-trace-id ,"})
    assert settings.cors_allowed_headers == ("Content-Type", "x-trace-id")


@pytest.mark.parametrize("value", ["X Custom", "Content-Type, *", "x-a;b", "é-header"])
def test_a_header_list_with_anything_but_header_names_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^CORS_ALLOWED_HEADERS: must be comma-separated header"):
        Settings.from_env({"CORS_ALLOWED_HEADERS": value})


@pytest.mark.parametrize(("value", "accepted"), [("0", True), ("86400", True), ("86401", False)])
def test_the_max_age_is_at_most_a_day(value: str, accepted: bool) -> None:
    if accepted:
        assert Settings.from_env({"CORS_MAX_AGE_SECONDS": value}).cors_max_age_seconds == int(value)
    else:
        with pytest.raises(ConfigError, match=r"^CORS_MAX_AGE_SECONDS: "):
            Settings.from_env({"CORS_MAX_AGE_SECONDS": value})
