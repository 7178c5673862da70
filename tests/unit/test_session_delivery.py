"""How a new session's credential reaches the client: the mode chosen, else browsers get the
cookie alone and other clients both; a renewal goes the way the request's session came."""

from __future__ import annotations

import pytest

from factsvc.handlers.session_delivery import (
    BOTH,
    COOKIE,
    TOKEN,
    Delivery,
    is_browser,
    login_delivery,
    renewal_delivery,
)

BROWSER_FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "empty"}


@pytest.mark.parametrize(
    ("headers", "browser"),
    [
        (BROWSER_FETCH, True),
        ({"Sec-Fetch-Mode": "cors"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Dest": "empty", "User-Agent": "Mozilla/5.0"}, False),
        ({}, False),
    ],
)
def test_a_browser_is_told_by_its_fetch_metadata(headers: dict[str, str], browser: bool) -> None:
    assert is_browser(headers) is browser


@pytest.mark.parametrize(
    ("mode", "headers", "delivery"),
    [
        ("cookie", {}, COOKIE),
        ("cookie", BROWSER_FETCH, COOKIE),
        ("token", {}, TOKEN),
        ("token", BROWSER_FETCH, TOKEN),
        (None, BROWSER_FETCH, COOKIE),
        (None, {}, BOTH),
    ],
)
def test_a_login_delivers_as_chosen_else_by_the_kind_of_client(
    mode: str | None, headers: dict[str, str], delivery: Delivery
) -> None:
    assert login_delivery(mode, headers) == delivery


def test_the_modes_are_exclusive_and_both_is_both() -> None:
    assert (COOKIE.cookie, COOKIE.token) == (True, False)
    assert (TOKEN.cookie, TOKEN.token) == (False, True)
    assert (BOTH.cookie, BOTH.token) == (True, True)


def test_a_renewed_session_goes_the_way_the_requests_session_came() -> None:
    assert renewal_delivery(by_bearer=True) == TOKEN
    assert renewal_delivery(by_bearer=False) == COOKIE
