"""CORS: which preflights pass, what their answer allows, and the headers a listed origin gets."""

from __future__ import annotations

import pytest

from factsvc.config import Settings
from factsvc.errors import CrossOriginRefused
from factsvc.handlers.cors import (
    EXPOSED_HEADERS,
    MAX_LOGGED_NAME_CHARS,
    MAX_METHOD_CHARS,
    CorsPolicy,
    PreflightRefused,
    allow_origin_headers,
    is_preflight,
    origin_answer_headers,
    refusal_fields,
)

LISTED = "https://app.example"
POLICY = CorsPolicy(Settings().cors_allowed_headers, 7200)


def is_listed(origin: str) -> bool:
    return origin == LISTED


def refusal(origin: str | None, method: str | None, headers: str | None = None) -> PreflightRefused:
    with pytest.raises(PreflightRefused) as refused:
        POLICY.preflight_headers(origin, method, headers, ["POST", "OPTIONS"], is_listed)
    return refused.value


def test_a_listed_origin_may_read_answers_with_credentials_and_the_exposed_headers() -> None:
    assert allow_origin_headers(LISTED) == {
        "Access-Control-Allow-Origin": LISTED,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "X-Request-ID, Retry-After, WWW-Authenticate, Allow",
    }
    assert EXPOSED_HEADERS.split(", ") == [
        "X-Request-ID",
        "Retry-After",
        "WWW-Authenticate",
        "Allow",
    ]


def test_a_preflight_from_a_listed_origin_for_a_route_method_passes() -> None:
    headers = POLICY.preflight_headers(LISTED, "POST", None, ["POST", "OPTIONS"], is_listed)
    assert headers == {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": (
            "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent, tracestate"
        ),
        "Access-Control-Max-Age": "7200",
    }


def test_the_answer_names_every_method_of_the_route_but_options() -> None:
    headers = POLICY.preflight_headers(
        LISTED, "GET", None, ["GET", "HEAD", "POST", "OPTIONS"], is_listed
    )
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST"


@pytest.mark.parametrize(
    ("method", "route_methods", "allowed"),
    [
        ("DELETE", ["POST", "OPTIONS"], "POST, DELETE"),
        ("PROPFIND", ["GET", "HEAD", "OPTIONS"], "GET, HEAD, PROPFIND"),
        ("PUT", ["OPTIONS"], "PUT"),
        ("OPTIONS", ["POST", "OPTIONS"], "POST, OPTIONS"),
        ("post", ["POST", "OPTIONS"], "POST, post"),
    ],
)
def test_any_method_passes_so_that_the_real_request_gets_its_own_answer(
    method: str, route_methods: list[str], allowed: str
) -> None:
    headers = POLICY.preflight_headers(LISTED, method, None, route_methods, is_listed)
    assert headers["Access-Control-Allow-Methods"] == allowed


@pytest.mark.parametrize(
    "requested",
    [
        "authorization,content-type,idempotency-key,traceparent,tracestate,x-request-id",
        "Content-Type, X-REQUEST-ID",
        " , content-type,,  ",
        "",
    ],
)
def test_listed_request_headers_pass_in_any_case_spacing_and_with_empty_items(
    requested: str,
) -> None:
    headers = POLICY.preflight_headers(LISTED, "POST", requested, ["POST"], is_listed)
    assert headers["Access-Control-Max-Age"] == "7200"


@pytest.mark.parametrize(
    ("requested", "refused"),
    [
        ("x-foo", "x-foo"),
        ("content-type, X-Foo", "x-foo"),
        ("content-type,cookie", "cookie"),
        ("traceparent, baggage", "baggage"),
    ],
)
def test_a_request_header_outside_the_list_is_refused_naming_it(
    requested: str, refused: str
) -> None:
    error = refusal(LISTED, "POST", requested)
    assert isinstance(error, CrossOriginRefused)
    assert refusal_fields(error, LISTED) == {
        "setting": "CORS_ALLOWED_HEADERS",
        "reason": f"header_not_allowed:{refused}",
    }


@pytest.mark.parametrize("requested", ["x-" + "a" * 8000, "content-type, " + "\u00e9" * 8000])
def test_a_refused_header_name_is_named_in_at_most_a_few_dozen_characters(
    requested: str,
) -> None:
    reason = refusal(LISTED, "POST", requested).reason
    name = requested.split(", ")[-1]
    assert reason == f"header_not_allowed:{name[:MAX_LOGGED_NAME_CHARS]}…"
    assert MAX_LOGGED_NAME_CHARS == 64


def test_the_configured_headers_and_max_age_are_what_the_answer_allows() -> None:
    policy = CorsPolicy(("X-Custom", "content-type"), 0)
    headers = policy.preflight_headers(LISTED, "POST", "x-custom", ["POST"], is_listed)
    assert headers["Access-Control-Allow-Headers"] == "X-Custom, content-type"
    assert headers["Access-Control-Max-Age"] == "0"
    with pytest.raises(PreflightRefused):
        policy.preflight_headers(LISTED, "POST", "authorization", ["POST"], is_listed)


def test_with_no_header_allowed_the_answer_names_none() -> None:
    headers = CorsPolicy((), 60).preflight_headers(LISTED, "GET", None, ["GET"], is_listed)
    assert "Access-Control-Allow-Headers" not in headers


@pytest.mark.parametrize(
    ("origin", "method", "setting", "reason"),
    [
        (None, "POST", "-", "no_origin"),
        ("https://evil.example", "POST", "CORS_ORIGINS", "origin_not_listed"),
        ("null", "POST", "CORS_ORIGINS", "origin_not_listed"),
        (LISTED + ".evil.example", "POST", "CORS_ORIGINS", "origin_not_listed"),
        (LISTED, None, "-", "no_request_method"),
        (LISTED, "", "-", "no_request_method"),
        (LISTED, "PO ST", "-", "no_request_method"),
        (LISTED, "GET\r\nX: y", "-", "no_request_method"),
        (LISTED, "A" * (MAX_METHOD_CHARS + 1), "-", "method_too_long"),
        (LISTED, "A" * 5000, "-", "method_too_long"),
        (LISTED, "A B" * 5000, "-", "method_too_long"),
    ],
)
def test_other_preflights_are_refused_naming_why_and_the_setting_that_decides_if_any(
    origin: str | None, method: str | None, setting: str, reason: str
) -> None:
    assert refusal_fields(refusal(origin, method), origin) == {
        "setting": setting,
        "reason": reason,
    }


def test_a_method_of_the_longest_allowed_length_passes_and_is_echoed() -> None:
    method = "M" * MAX_METHOD_CHARS
    headers = POLICY.preflight_headers(LISTED, method, None, [], is_listed)
    assert headers["Access-Control-Allow-Methods"] == method
    assert MAX_METHOD_CHARS == 32


def test_an_unlisted_origin_is_refused_before_its_headers_are_judged() -> None:
    assert refusal("https://evil.example", "POST", "x-foo").reason == "origin_not_listed"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", ""])
def test_a_refusal_by_tornados_cross_origin_protection_names_cors_origins(origin: str) -> None:
    assert refusal_fields(None, origin) == {
        "setting": "CORS_ORIGINS",
        "reason": "origin_not_listed",
    }


def test_tornados_refusal_of_a_cross_site_fetch_without_origin_names_no_setting() -> None:
    assert refusal_fields(None, None) == {
        "setting": "-",
        "reason": "sec_fetch_site_without_origin",
    }


@pytest.mark.parametrize(
    ("method", "origin", "requested", "expected"),
    [
        ("OPTIONS", LISTED, "GET", True),
        ("OPTIONS", LISTED, "", True),
        ("OPTIONS", "https://evil.example", "GET", True),
        ("OPTIONS", "", "GET", True),
        ("OPTIONS", None, "GET", False),
        ("OPTIONS", LISTED, None, False),
        ("GET", LISTED, "GET", False),
        ("POST", LISTED, "POST", False),
    ],
)
def test_a_preflight_is_an_options_with_an_origin_and_a_requested_method(
    method: str, origin: str | None, requested: str | None, expected: bool
) -> None:
    assert is_preflight(method, origin, requested) is expected


@pytest.mark.parametrize(
    ("origin", "listed", "expected"),
    [
        (LISTED, (LISTED,), {"Vary": "Origin", **allow_origin_headers(LISTED)}),
        ("https://evil.example", (LISTED,), {"Vary": "Origin"}),
        (None, (LISTED,), {"Vary": "Origin"}),
        (LISTED.upper(), (LISTED,), {"Vary": "Origin"}),
        (LISTED, (), {}),
        (None, (), {}),
    ],
)
def test_an_answer_outside_the_handlers_gets_the_cors_headers_a_handlers_answer_gets(
    origin: str | None, listed: tuple[str, ...], expected: dict[str, str]
) -> None:
    assert origin_answer_headers(origin, listed) == expected
