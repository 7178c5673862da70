"""CORS: which preflights pass, and the headers a listed origin gets."""

from __future__ import annotations

import pytest

from factsvc.errors import CrossOriginRefused
from factsvc.handlers.cors import allow_origin_headers, preflight_headers

LISTED = "https://app.example"


def is_listed(origin: str) -> bool:
    return origin == LISTED


def test_a_listed_origin_may_read_answers_with_credentials() -> None:
    assert allow_origin_headers(LISTED) == {
        "Access-Control-Allow-Origin": LISTED,
        "Access-Control-Allow-Credentials": "true",
    }


def test_a_preflight_from_a_listed_origin_for_a_route_method_passes() -> None:
    headers = preflight_headers(LISTED, "POST", ["POST", "OPTIONS"], is_listed)
    assert headers == {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-ID",
        "Access-Control-Max-Age": "600",
    }


def test_the_answer_names_every_method_of_the_route_but_options() -> None:
    headers = preflight_headers(LISTED, "GET", ["GET", "HEAD", "POST", "OPTIONS"], is_listed)
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST"


@pytest.mark.parametrize(
    ("origin", "method"),
    [
        (None, "POST"),
        ("https://evil.example", "POST"),
        ("null", "POST"),
        (LISTED, "DELETE"),
        (LISTED, "OPTIONS"),
        (LISTED, ""),
        (LISTED, "post"),
    ],
)
def test_other_preflights_are_refused(origin: str | None, method: str) -> None:
    with pytest.raises(CrossOriginRefused):
        preflight_headers(origin, method, ["POST", "OPTIONS"], is_listed)
