"""How a new session's credential reaches the client: the mode chosen, else browsers get the
cookie alone and other clients both, but never the cookie alone to a page on another site; a
renewal goes the way the request's session came."""

from __future__ import annotations

import pytest

from factsvc.errors import InvalidInput
from factsvc.handlers.session_delivery import (
    BOTH,
    COOKIE,
    CROSS_SITE_COOKIE,
    TOKEN,
    Delivery,
    is_browser,
    login_delivery,
    renewal_delivery,
)

BROWSER_FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "empty"}
# What Chromium sends to an API on plain http other than localhost: Origin, no Fetch Metadata.
INSECURE_ORIGIN = {"Origin": "http://app.example:8000", "User-Agent": "Mozilla/5.0"}
CROSS_SITE = {
    "Origin": "https://other.example",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "cross-site",
}


@pytest.mark.parametrize(
    ("headers", "browser"),
    [
        (BROWSER_FETCH, True),
        ({"Sec-Fetch-Mode": "cors"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        (INSECURE_ORIGIN, True),
        ({"Origin": "null"}, True),
        ({"Sec-Fetch-Dest": "empty", "User-Agent": "Mozilla/5.0"}, False),
        ({}, False),
    ],
)
def test_a_browser_is_told_by_its_origin_or_fetch_metadata(
    headers: dict[str, str], browser: bool
) -> None:
    assert is_browser(headers) is browser


@pytest.mark.parametrize(
    ("mode", "headers", "delivery"),
    [
        ("cookie", {}, COOKIE),
        ("cookie", BROWSER_FETCH, COOKIE),
        ("token", {}, TOKEN),
        ("token", BROWSER_FETCH, TOKEN),
        (None, BROWSER_FETCH, COOKIE),
        (None, INSECURE_ORIGIN, COOKIE),
        (None, {}, BOTH),
        ("token", CROSS_SITE, TOKEN),
    ],
)
@pytest.mark.parametrize("crosses_sites", [False, True])
def test_a_login_delivers_as_chosen_else_by_the_kind_of_client(
    mode: str | None, headers: dict[str, str], delivery: Delivery, crosses_sites: bool
) -> None:
    assert login_delivery(mode, headers, cookie_crosses_sites=crosses_sites) == delivery


@pytest.mark.parametrize("mode", ["cookie", None])
def test_the_cookie_is_refused_to_a_page_on_another_site(mode: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        login_delivery(mode, CROSS_SITE, cookie_crosses_sites=False)
    assert refused.value.errors == {"session": CROSS_SITE_COOKIE}
    assert "'token'" in CROSS_SITE_COOKIE
    assert "another site" in CROSS_SITE_COOKIE


@pytest.mark.parametrize("mode", ["cookie", None])
def test_the_cookie_goes_to_another_site_when_samesite_none_lets_it(mode: str | None) -> None:
    assert login_delivery(mode, CROSS_SITE, cookie_crosses_sites=True) == COOKIE


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none"])
def test_a_page_on_the_apis_own_site_gets_the_cookie(site: str) -> None:
    headers = {**CROSS_SITE, "Sec-Fetch-Site": site}
    assert login_delivery(None, headers, cookie_crosses_sites=False) == COOKIE


@pytest.mark.parametrize(
    ("mode", "headers", "cookie_and_token"),
    [
        ("cookie", {}, (True, False)),
        ("token", {}, (False, True)),
        (None, {}, (True, True)),
    ],
)
def test_the_modes_are_exclusive_and_both_is_both(
    mode: str | None, headers: dict[str, str], cookie_and_token: tuple[bool, bool]
) -> None:
    delivery = login_delivery(mode, headers, cookie_crosses_sites=False)
    assert (delivery.cookie, delivery.token) == cookie_and_token


def test_a_renewed_session_goes_the_way_the_requests_session_came() -> None:
    assert renewal_delivery(by_bearer=True) == TOKEN
    assert renewal_delivery(by_bearer=False) == COOKIE
