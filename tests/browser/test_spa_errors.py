"""What page scripts can read of the API's errors (bodies, X-Request-ID, Retry-After, Allow,
WWW-Authenticate; the connection layer's 414 and 431 too), which preflights pass (traceparent),
how a refused origin fails, and the page's own Content-Security-Policy, in Chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

from factsvc.api_schema.defaults import setting_default
from factsvc.embedded import free_port
from processes import Process, spa_command
from tests.browser.site import LOGIN_ACCOUNT_MAX_FAILURES, START_TIMEOUT_SECONDS, Site
from tests.browser.spa import Spa
from tests.browser.test_spa_journeys import PASSWORD, new_username

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
FAILED_TO_FETCH = "TypeError: Failed to fetch"
SECONDS = re.compile(r"([1-9]\d*) s")
# A request line or a header line 4 KiB over the service's head limit (HTTP_MAX_HEADER_BYTES).
TOO_LONG = setting_default("http_max_header_bytes", int) + 4096
# Cookies of other apps on localhost (any port): Chromium keeps each up to 4096 bytes.
JAR_FILLER = """count => {
  for (let i = 0; i < count; i++) document.cookie = `other_app_${i}=${"x".repeat(4000)}; path=/`;
  return document.cookie.length;
}"""


def test_field_reasons_and_the_request_id_are_shown(page: Page, site: Site) -> None:
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()

    assert spa.register(new_username(), "short") == "Registering failed."

    error = spa.error()
    assert error["error-status"] == "400 · code 3"
    assert error["fields"] == "password: must be 8-128 characters"
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", error["request-id-header"])
    assert error["request-id-header"] == error["request-id-body"]


def test_repeated_failed_logins_show_the_retry_delay_from_header_and_body(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()
    username = new_username()
    assert spa.register(username, PASSWORD) == f"Registered {username}. Log in next."

    statuses = []
    for _ in range(LOGIN_ACCOUNT_MAX_FAILURES + 1):
        assert spa.login(username, "not the password") == "Logging in failed."
        statuses.append(spa.error()["error-status"])
    assert statuses == [*["401 · code 1001"] * LOGIN_ACCOUNT_MAX_FAILURES, "429 · code 9"]

    error = spa.error()
    header = SECONDS.fullmatch(error["retry-after-header"])
    assert header, f"Retry-After unreadable by the page: {error}"
    assert error["retry-after-body"] == error["retry-after-header"]
    assert error["request-id-header"] == error["request-id-body"]


def test_errors_after_a_preflight_reach_the_page_with_their_headers(page: Page, site: Site) -> None:
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()
    bearer = {"Authorization": "Bearer not-a-session"}

    unknown = spa.fetch("/no/such/path", {"headers": bearer})
    assert (unknown.get("status"), unknown.get("body", {}).get("code")) == (404, 7), unknown
    assert unknown["headers"]["x-request-id"] == unknown["body"]["request_id"]

    wrong_method = spa.fetch("/login", {"method": "PUT", "headers": bearer})
    assert wrong_method.get("status") == 405, wrong_method
    assert "POST" in (wrong_method["headers"]["allow"] or "")

    no_session = spa.fetch("/account/info", {"credentials": "include"})
    assert (no_session["status"], no_session["body"]["code"]) == (401, 4)
    assert no_session["headers"]["www-authenticate"] == 'Bearer realm="factsvc"'


def test_a_traceparent_header_passes_the_preflight_and_an_unlisted_header_does_not(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.cross_site, "token")
    spa.open()

    traced = spa.fetch(
        "/isLogined", {"headers": {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}}
    )
    assert traced.get("status") == 200, traced
    assert traced["body"]["logined"] is False

    assert spa.fetch("/isLogined", {"headers": {"X-Not-Allowed": "1"}}) == {
        "error": FAILED_TO_FETCH
    }


def test_a_url_or_a_header_over_the_head_limit_is_a_readable_json_error(
    page: Page, site: Site
) -> None:
    """The connection layer's 414 and 431 carry the CORS headers of a listed origin, so the page
    reads their status, body and request id instead of "Failed to fetch"."""
    spa = Spa(page, site, site.cross_site, "token")
    spa.open()

    long_url = spa.fetch("/fact?n=" + "1" * TOO_LONG)
    long_header = spa.fetch("/isLogined", {"headers": {"X-Request-ID": "r" * TOO_LONG}})

    for answer, status in ((long_url, 414), (long_header, 431)):
        assert (answer.get("status"), answer.get("body", {}).get("code")) == (status, 3), answer
        request_id = answer["headers"]["x-request-id"]
        assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", request_id or ""), answer
        assert answer["body"]["request_id"] == request_id


def test_a_cookie_jar_over_the_head_limit_shows_a_431_with_its_request_id(
    page: Page, site: Site
) -> None:
    """Other apps on localhost fill the jar that the API on localhost shares: the page shows the
    431 the connection layer answers, not "Failed to fetch"."""
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()
    assert page.evaluate(JAR_FILLER, TOO_LONG // 4000 + 1) > TOO_LONG

    assert spa.who_am_i() == "Asking who I am failed."
    error = spa.error()
    assert error["error-status"] == "431 · code 3"
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,64}", error["request-id-header"])
    assert error["request-id-header"] == error["request-id-body"]


@pytest.fixture
def unlisted_spa(site: Site, tmp_path: Path) -> Iterator[str]:
    """The SPA on an origin that is not in CORS_ORIGINS (its policy still allows the API)."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "")}
    with Process("SPA", spa_command(port, site.api), env, tmp_path / "unlisted-spa.log") as spa:
        spa.wait_until_answering(f"http://127.0.0.1:{port}/", START_TIMEOUT_SECONDS)
        yield f"http://localhost:{port}"


def test_a_page_on_an_unlisted_origin_gets_failed_to_fetch(
    page: Page, site: Site, unlisted_spa: str
) -> None:
    console: list[ConsoleMessage] = []
    page.on("console", lambda message: console.append(message))
    spa = Spa(page, site, unlisted_spa, "cookie")
    spa.open()

    assert spa.who_am_i() == "Asking who I am failed."
    error = spa.error()
    assert error["error-message"].startswith(f"{FAILED_TO_FETCH}. No answer reached this page")
    assert "CORS_ORIGINS" in error["error-message"]
    assert (error["error-status"], error["request-id-header"]) == ("no answer", "no answer")
    assert spa.fetch("/fact?n=5") == {"error": FAILED_TO_FETCH}, "a simple request too"
    refusals = [m.text for m in console if "blocked by CORS policy" in m.text]
    assert len(refusals) == 2, [m.text for m in console]
    assert all(f"from origin '{unlisted_spa}'" in text for text in refusals)


def test_the_page_allows_only_its_own_scripts_and_connections_to_the_api(
    page: Page, site: Site
) -> None:
    spa = Spa(page, site, site.same_site, "cookie")
    response = spa.open()
    assert response is not None
    policy = response.header_value("content-security-policy") or ""
    assert "default-src 'self'" in policy
    assert f"connect-src {site.api};" in policy

    ran = page.evaluate(
        """() => {
          // A Trusted Types policy of the test's own passes the script text to the sink, so
          // that what refuses it is script-src ('self', from default-src).
          const policy = trustedTypes.createPolicy("test", { createScript: (text) => text });
          const script = document.createElement("script");
          script.text = policy.createScript("window.inlineScriptRan = true");
          document.head.append(script);
          return window.inlineScriptRan === true;
        }"""
    )
    assert ran is False, "no inline script runs"
    other_origin = site.api.replace("localhost", "127.0.0.1")
    refused = page.evaluate(
        "url => fetch(url).then(() => 'fetched', e => `${e.name}: ${e.message}`)",
        f"{other_origin}/fact?n=5",
    )
    assert refused == FAILED_TO_FETCH
    assert "Content-Security-Policy refused" in spa.shown("status")


def test_the_page_shows_images_from_the_api_only(page: Page, site: Site) -> None:
    """img-src names the API's origin (the avatars it serves) and nothing else: neither another
    origin nor a data: URL, nor the page's own origin."""
    spa = Spa(page, site, site.same_site, "cookie")
    response = spa.open()
    assert response is not None
    assert f"img-src {site.api};" in (response.header_value("content-security-policy") or "")
    other_origin = site.api.replace("localhost", "127.0.0.1")
    urls = {
        "api": f"{site.api}/fact?n=5",
        "other origin": f"{other_origin}/fact?n=5",
        "page": f"{site.same_site}/style.css",
        "data": "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
    }

    blocked = page.evaluate(
        """async (urls) => {
          const blocked = [];
          document.addEventListener("securitypolicyviolation", (event) => {
            blocked.push([event.violatedDirective, event.blockedURI]);
          });
          await Promise.all(Object.values(urls).map((url) => new Promise((settled) => {
            const image = document.createElement("img");
            image.onload = image.onerror = settled;
            image.src = url;
            document.body.append(image);
          })));
          // Violation reports are queued as tasks of their own: let them arrive.
          await new Promise((waited) => setTimeout(waited, 300));
          return blocked;
        }""",
        urls,
    )

    directives = {directive for directive, _ in blocked}
    assert directives == {"img-src"}, blocked
    refused = {uri for _, uri in blocked}
    assert refused == {urls["other origin"], urls["page"], "data"}, blocked


def test_the_page_takes_no_string_as_html_or_script(page: Page, site: Site) -> None:
    """Trusted Types (require-trusted-types-for 'script'): a string given to an HTML or script
    sink throws instead of being parsed, so an injected string never becomes markup or code.
    (The journeys prove that the SPA's own code needs no such sink.)"""
    spa = Spa(page, site, site.same_site, "cookie")
    spa.open()

    refused = page.evaluate(
        """() => {
          const attempts = {
            innerHTML: () => { document.createElement("div").innerHTML = "<img src=x>"; },
            scriptText: () => { document.createElement("script").text = "1"; },
          };
          return Object.fromEntries(Object.entries(attempts).map(([sink, attempt]) => {
            try {
              attempt();
              return [sink, "accepted"];
            } catch (error) {
              return [sink, error.name];
            }
          }));
        }"""
    )
    assert refused == {"innerHTML": "TypeError", "scriptText": "TypeError"}
