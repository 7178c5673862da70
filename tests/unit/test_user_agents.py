"""The short form of a User-Agent: browser or app, major version, operating system."""

from __future__ import annotations

import time

import pytest

from factsvc.services.user_agents import MAX_PARSED, MAX_SHORT, prepare, short_form

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("header", "short"),
    [
        (ANDROID_CHROME, "Chrome Mobile 120 on Android"),
        (WINDOWS_FIREFOX, "Firefox 121 on Windows"),
        (IPHONE_SAFARI, "Mobile Safari 17 on iOS"),
        ("curl/8.5.0", "curl 8"),
        ("SomethingNobodyKnows", "Other"),
        (None, None),
        ("", None),
    ],
)
def test_a_user_agent_is_shown_by_browser_version_and_system(
    header: str | None, short: str | None
) -> None:
    assert short_form(header) == short


def test_only_the_first_characters_are_parsed() -> None:
    assert short_form("x" * (MAX_PARSED - 1) + " " + WINDOWS_FIREFOX) == "Other"


def test_a_short_form_is_bounded_and_free_of_control_characters() -> None:
    # ua-parser takes an unknown app's own name from the header for some shapes (a name,
    # then a CFNetwork version): its characters reach the short form.
    header = "Ev\u2028il\x7f" + "A" * 200 + "/2.3 CFNetwork/1410.0.3 Darwin/22.6.0"
    short = short_form(header)
    assert short is not None
    assert len(short) <= MAX_SHORT
    assert "\u2028" not in short
    assert "\x7f" not in short


def test_a_long_hostile_header_is_parsed_quickly() -> None:
    prepare()
    started = time.perf_counter()
    for header in ("Mozilla/5.0 (" + "a; " * 1000, "x" * 100_000, "(" * 10_000):
        short_form(header)
    assert time.perf_counter() - started < 0.5
