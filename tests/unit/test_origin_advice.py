"""The start-up advice on CORS_ORIGINS: the origins, and warnings of silent browser failures."""

from __future__ import annotations

import logging

import pytest

from factsvc.config import Settings
from factsvc.config.origin_advice import LogLine, origin_advice
from tests.support.servers import STRONG_SECRET


def advice(*origins: str, debug: bool = False) -> list[LogLine]:
    settings = Settings(debug=debug, session_cookie_secret=STRONG_SECRET, cors_origins=origins)
    return origin_advice(settings)


def warnings(lines: list[LogLine]) -> list[str]:
    return [line.message for line in lines if line.level == logging.WARNING]


@pytest.mark.parametrize("debug", [False, True])
def test_with_no_origin_listed_it_says_so_once_at_info(debug: bool) -> None:
    assert advice(debug=debug) == [
        LogLine(
            logging.INFO,
            "CORS_ORIGINS: none listed; pages on other origins can neither read an answer nor "
            "change anything",
        )
    ]


def test_origins_on_one_site_are_listed_with_their_site_and_nothing_to_warn_of() -> None:
    assert advice("https://app.example.com", "https://admin.example.com:8443") == [
        LogLine(
            logging.INFO,
            "CORS_ORIGINS: https://app.example.com, https://admin.example.com:8443 (site "
            "https://example.com: cookie mode needs the API on that site too, which the service "
            "cannot check: it does not know the address that pages reach it at)",
        )
    ]


def test_origins_on_several_sites_warn_that_all_but_one_need_token_mode() -> None:
    lines = advice("http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:8000")
    assert lines[0] == LogLine(
        logging.INFO,
        "CORS_ORIGINS: http://localhost:5173, http://127.0.0.1:5173, http://localhost:8000",
    )
    (warning,) = warnings(lines)
    assert warning.startswith(
        "CORS_ORIGINS: origins on 2 sites (http://localhost for http://localhost:5173, "
        "http://localhost:8000; http://127.0.0.1 for http://127.0.0.1:5173): "
    )
    assert "cookie mode works for one site at most" in warning
    assert '"session": "token"' in warning


@pytest.mark.parametrize(
    "origins",
    [
        ("http://app.example.com", "https://app.example.com"),  # schemeful: scheme counts
        ("https://a.github.io", "https://b.github.io"),  # a private public suffix
        ("https://example.com", "https://example.org"),
        ("https://[::1]:8443", "https://localhost:8443"),
    ],
)
def test_what_browsers_count_as_other_sites_is_warned_of(origins: tuple[str, str]) -> None:
    assert any("origins on 2 sites" in line for line in warnings(advice(*origins, debug=True)))


@pytest.mark.parametrize(
    "origins",
    [
        ("https://a.example.co.uk", "https://b.example.co.uk"),
        ("https://example.com", "https://www.example.com:444"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:5173"),
    ],
)
def test_origins_that_share_a_registrable_domain_are_one_site(origins: tuple[str, str]) -> None:
    assert warnings(advice(*origins, debug=True)) == []


def test_plain_http_beyond_loopback_outside_debug_is_warned_of() -> None:
    (warning,) = warnings(advice("http://app.example.com"))
    assert warning.startswith(
        "CORS_ORIGINS: http://app.example.com is plain http and DEBUG is false: the session "
        "cookie is Secure"
    )
    assert '"session": "token"' in warning


def test_plain_http_in_debug_is_not_warned_of() -> None:
    assert warnings(advice("http://app.example.com", debug=True)) == []


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000", "http://app.localhost"],
)
def test_plain_http_on_loopback_is_fine_outside_debug(origin: str) -> None:
    assert warnings(advice(origin)) == []


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("https://App.Example.com", "is written https://app.example.com by browsers"),
        ("https://app.example.com:443", "is written https://app.example.com by browsers"),
        ("http://localhost:80", "is written http://localhost by browsers"),
        ("http://[0:0::1]:8080", "is written http://[::1]:8080 by browsers"),
        ("http://127.1:8000", "is written http://127.0.0.1:8000 by browsers"),
        ("http://0x7f.0.0.1", "is written http://127.0.0.1 by browsers"),
        ("http://2130706433", "is written http://127.0.0.1 by browsers"),
        ("https://faß.example", "is written https://xn--fa-hia.example by browsers"),
        ("https://\uff41pp.example.com", "is written https://app.example.com by browsers"),
        ("https://%61pp.example.com", "is written https://app.example.com by browsers"),
        ("http://[fe80::1%25eth0]", "is an origin no browser sends"),
        ("http://1.2.3.256.1", "is an origin no browser sends"),
        ("https://user@app.example.com", "is an origin no browser sends"),
        ("http://[::1", "is an origin no browser sends"),
        ("https://app.example.com:99999", "is an origin no browser sends"),
    ],
)
def test_an_origin_no_request_can_match_is_warned_of_and_counts_for_no_site(
    origin: str, problem: str
) -> None:
    lines = advice("https://example.com", origin)
    assert warnings(lines) == [f"CORS_ORIGINS: {origin} {problem}: no request matches it"]
    assert "(site https://example.com: " in lines[0].message


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8000", "http://127.0.0.2", "http://[::1]", "http://a.localhost"]
)
def test_a_loopback_origin_as_browsers_write_it_draws_no_warning(origin: str) -> None:
    assert warnings(advice(origin)) == []
