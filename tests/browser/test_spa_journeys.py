"""The demo SPA's whole journey in Chromium, in each session mode: cookie mode on the API's site
(the session cookie stored, sent, hidden from page scripts, no token in the page) and token mode
across sites (a bearer token, no cookie stored); cookie mode across sites is refused, and the page
says how to log in instead."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Response, expect

from factsvc.api_schema.defaults import SESSION_COOKIE
from tests.browser.site import Site
from tests.browser.spa import Spa

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple gun and tape 42"
# Markup in a nickname is text: the page renders it with textContent, never as HTML.
NICKNAME = "<b>Ada</b>"
FACT_N = 20_000
PASSWORD_CHANGED = "Password changed: every other session ended, this page has a new one."


def new_username() -> str:
    return f"b{uuid.uuid4().hex[:12]}"


def run_journey(spa: Spa, username: str) -> None:
    """Register, log in, who am I, account info, edit the nickname, change the password, log out,
    log in with the new password, compute FACT_N!: each step as the page shows it."""
    assert spa.register(username, PASSWORD) == f"Registered {username}. Log in next."
    assert spa.login(username, PASSWORD) == f"Logged in as {username}."
    assert (spa.shown("logined"), spa.shown("username")) == ("yes", username)
    assert spa.who_am_i() == f"Logged in as {username}."
    assert spa.info() == f"Account info of {username}."
    assert spa.edit_nickname(NICKNAME) == f"Nickname is now {NICKNAME}."
    assert spa.shown("nickname") == NICKNAME
    assert spa.field("nickname").locator("b").count() == 0, "server text is never HTML"
    assert spa.change_password(PASSWORD, NEW_PASSWORD) == PASSWORD_CHANGED
    assert spa.who_am_i() == f"Logged in as {username}.", "the new session's credential works"
    assert spa.logout() == "Logged out."
    assert spa.who_am_i() == "Not logged in."
    assert spa.login(username, NEW_PASSWORD) == f"Logged in as {username}."
    assert spa.factorial(FACT_N) == f"{FACT_N}! has {fact_digits(spa)} digits."
    assert spa.shown("fact-digits") == f"{fact_digits(spa):,}"
    assert re.fullmatch(r"\d+ ms", spa.shown("fact-time"))


def fact_digits(spa: Spa) -> int:
    (answer,) = spa.api_responses("GET", f"/fact?n={FACT_N}")
    body = answer.json()
    assert body["digits"] == len(body["fact"])
    return int(body["digits"])


def assert_fact_was_a_simple_request(spa: Spa, site: Site) -> None:
    """GET /fact went without credentials or custom headers, so without a preflight."""
    (answer,) = spa.api_responses("GET", f"/fact?n={FACT_N}")
    sent = answer.request.all_headers()
    assert "cookie" not in sent
    assert "authorization" not in sent
    assert "OPTIONS /fact" not in site.service_log.read_text()


def json_bodies(responses: list[Response]) -> list[dict[str, Any]]:
    return [
        response.json()
        for response in responses
        if response.request.method != "OPTIONS"
        and (response.header_value("content-type") or "").startswith("application/json")
    ]


def set_cookie_headers(response: Response) -> list[str]:
    return [h["value"] for h in response.headers_array() if h["name"].lower() == "set-cookie"]


def test_cookie_mode_on_the_api_site_keeps_the_session_out_of_page_scripts(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()
    username = new_username()

    run_journey(spa, username)

    (cookie,) = [c for c in page.context.cookies(site.api) if c["name"] == SESSION_COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["path"]) == (True, True, "/")
    assert cookie["sameSite"] == "Lax"
    assert "SID" not in page.evaluate("document.cookie"), "HttpOnly hides it from page scripts"
    for login in spa.api_responses("POST", "/login"):
        assert [h for h in set_cookie_headers(login) if h.startswith(f"{SESSION_COOKIE}=")]
    bodies = json_bodies(spa.responses)
    assert len(bodies) == 11, "every answer of the journey"
    assert [body for body in bodies if "token" in body] == [], "no token reaches the page"
    for request in spa.api_requests():
        if "/fact" not in request.url and "/register" not in request.url:
            assert "authorization" not in request.all_headers()
    info = spa.api_responses("GET", "/account/info")[0].request.all_headers()
    assert f"{SESSION_COOKIE}=" in info.get("cookie", ""), "the cookie is sent"
    assert_fact_was_a_simple_request(spa, site)

    assert spa.logout() == "Logged out."
    assert [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE] == []


def test_token_mode_across_sites_sends_a_bearer_token_and_stores_no_cookie(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.cross_site, "token")
    spa.open()
    username = new_username()

    run_journey(spa, username)

    assert page.context.cookies() == [], "no cookie stored"
    issued = [*spa.api_responses("POST", "/login"), *spa.api_responses("POST", "/account/edit")]
    for answer in issued:
        assert set_cookie_headers(answer) == [], f"{answer.url} set a cookie"
    tokens = [body["token"] for body in json_bodies(issued) if "token" in body]
    assert len(tokens) == 3, "two logins and a password change"
    (info,) = spa.api_responses("GET", "/account/info")
    assert info.request.all_headers().get("authorization") == f"Bearer {tokens[0]}"
    for request in spa.api_requests():
        assert "cookie" not in request.all_headers()
    stored = page.evaluate("JSON.stringify([localStorage, sessionStorage])")
    for token in tokens:
        assert token not in page.content(), "the token never reaches the DOM"
        assert token not in stored
    assert_fact_was_a_simple_request(spa, site)

    assert spa.logout() == "Logged out."
    assert set_cookie_headers(spa.api_responses("POST", "/logout")[-1]) == []
    assert spa.who_am_i() == "Not logged in.", "the page forgot the token"


def test_cookie_mode_on_another_site_is_refused_with_the_way_to_token_mode(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.cross_site, "cookie")
    spa.open()
    username = new_username()
    assert spa.register(username, PASSWORD) == f"Registered {username}. Log in next."

    assert spa.login(username, PASSWORD) == "Logging in failed."
    error = spa.error()
    assert error["error-status"] == "400 · code 3"
    reason = error["fields"].removeprefix("session: ")
    assert reason != error["fields"], f"no errors.session: {error}"
    assert "token" in reason
    assert error["request-id-header"] == error["request-id-body"]
    (refused,) = spa.api_responses("POST", "/login")
    assert set_cookie_headers(refused) == [], "no cookie the browser would drop"
    assert page.context.cookies() == []
    assert spa.shown("mode-advice") == f"The API refused cookie mode (session: {reason})."
    assert spa.shown("token-mode-url") == "Open this page in token mode."

    spa.field("token-mode-url").click()
    expect(spa.field("mode")).to_have_attribute("data-mode", "token")
    opened = urlsplit(page.url)
    assert f"{opened.scheme}://{opened.netloc}" == site.cross_site
    assert parse_qs(opened.query) == {"api": [site.api], "mode": ["token"]}
    assert spa.login(username, PASSWORD) == f"Logged in as {username}."
