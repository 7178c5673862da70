"""The pages mailed links open, in Chromium against the real service and SMTP server: the verify
link verifies the address, the reset link sets a new password, a used link says so, the token
leaves the address bar and reaches no log; the pages load and send nothing their policy
refuses, and show every answer (password rules, 429, 503) as text."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.link_pages import (
    INVALID_LINK,
    NO_TOKEN,
    PASSWORD_SET,
    PASSWORDS_DIFFER,
    VERIFIED,
    LinkPage,
    account_info,
    login_status,
    post,
    registered,
)
from tests.browser.site import Site
from tests.browser.test_spa_journeys import NEW_PASSWORD
from tests.support.mail import MailSink, link_in

FAKE_TOKEN = "A" * 43 + "0f0f"


def token_of(link: str) -> str:
    return link.partition("#token=")[2]


def assert_token_gone(shown: LinkPage, site: Site, path: str, token: str) -> None:
    """The address bar shows the page's path alone, and nothing of the page holds the token."""
    assert shown.page.url == site.api + path
    assert shown.page.evaluate("location.hash") == ""
    assert token not in shown.page.content()
    assert token not in site.service_log.read_text(), "the token reached the service's log"


def assert_same_origin_post_without_credentials(shown: LinkPage, site: Site, path: str) -> None:
    """The page's POST went to its own path and origin, with no cookie and no Referer: Tornado's
    cross-origin protection sees Sec-Fetch-Site same-origin and lets it through."""
    (sent,) = shown.posts()
    assert sent.url == site.api + path
    headers = sent.all_headers()
    assert headers["sec-fetch-site"] == "same-origin"
    assert headers["content-type"] == "application/json"
    assert "cookie" not in headers
    assert "referer" not in headers
    assert json.loads(sent.post_data or "{}").keys() >= {"token"}


def test_the_verify_link_verifies_the_address_once(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink
) -> None:
    account, link = registered(context.request, site, mail_sink)
    assert urlsplit(link).path == "/email/verify"
    assert account_info(context.request, site, account)["email_verified"] is False
    shown = LinkPage(page)

    shown.open(link)
    assert_token_gone(shown, site, "/email/verify", token_of(link))
    assert shown.verify() == {
        "kind": "success",
        "message": VERIFIED,
        "advice": "You may close this page.",
        "reasons": "",
    }

    assert_same_origin_post_without_credentials(shown, site, "/email/verify")
    user = account_info(context.request, site, account)
    assert (user["email"], user["email_verified"]) == (account.email, True)
    expect(page.locator("#verify")).to_be_hidden()
    assert shown.problems() == []
    assert_token_gone(shown, site, "/email/verify", token_of(link))

    again = LinkPage(context.new_page())
    again.open(link)
    outcome = again.verify()
    assert (outcome["kind"], outcome["message"]) == ("invalid", INVALID_LINK)
    assert "Ask for a new mail" in outcome["advice"]
    expect(again.page.locator("#verify")).to_be_hidden()


def test_the_reset_link_sets_a_new_password_once(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink
) -> None:
    account, verify_link = registered(context.request, site, mail_sink)
    verified = post(context.request, site, "/email/verify", {"token": token_of(verify_link)})
    assert verified["status"] == 200, verified
    forgot = post(context.request, site, "/password/forgot", {"email": account.email})
    assert forgot["status"] == 202, forgot
    link = link_in(mail_sink.wait_for_next_to(account.email))
    assert urlsplit(link).path == "/password/reset"
    shown = LinkPage(page)

    shown.open(link)
    assert_token_gone(shown, site, "/password/reset", token_of(link))
    outcome = shown.set_password(NEW_PASSWORD)
    assert (outcome["kind"], outcome["message"]) == ("success", PASSWORD_SET)
    assert "log in with the new password" in outcome["advice"]
    expect(page.locator("#reset")).to_be_hidden()

    assert_same_origin_post_without_credentials(shown, site, "/password/reset")
    assert login_status(context.request, site, account.username, NEW_PASSWORD) == 200
    assert login_status(context.request, site, account.username, account.password) == 401
    assert shown.problems() == []
    assert_token_gone(shown, site, "/password/reset", token_of(link))

    again = LinkPage(context.new_page())
    again.open(link)
    outcome = again.set_password("yet another passphrase")
    assert (outcome["kind"], outcome["message"]) == ("invalid", INVALID_LINK)
    expect(again.page.locator("#reset")).to_be_hidden()
    assert login_status(context.request, site, account.username, NEW_PASSWORD) == 200


def test_a_refused_password_shows_the_rules_and_the_link_still_works(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink
) -> None:
    account, verify_link = registered(context.request, site, mail_sink)
    post(context.request, site, "/email/verify", {"token": token_of(verify_link)})
    post(context.request, site, "/password/forgot", {"username": account.username})
    link = link_in(mail_sink.wait_for_next_to(account.email))
    shown = LinkPage(page)
    shown.open(link)

    outcome = shown.set_password("password")
    assert outcome["kind"] == "refused"
    assert outcome["message"] == "bad parameter"
    assert outcome["reasons"].startswith("password: "), outcome
    assert outcome["advice"] == "Correct what is listed and try again."
    expect(page.locator("#reset button")).to_be_enabled()

    assert shown.set_password(NEW_PASSWORD)["kind"] == "success"
    assert login_status(context.request, site, account.username, NEW_PASSWORD) == 200


def test_two_different_passwords_are_caught_by_the_page_without_a_request(
    page: Page, site: Site
) -> None:
    shown = LinkPage(page)
    shown.open(f"{site.api}/password/reset#token={FAKE_TOKEN}")

    outcome = shown.set_password(NEW_PASSWORD, NEW_PASSWORD + "!")
    assert (outcome["kind"], outcome["message"]) == ("mismatch", PASSWORDS_DIFFER)
    assert shown.posts() == []


def test_a_link_without_its_token_says_so_and_offers_nothing_to_press(
    page: Page, site: Site
) -> None:
    for path in ("/email/verify", "/password/reset"):
        shown = LinkPage(page)
        shown.open(f"{site.api}{path}")
        outcome = shown.outcome()
        assert (outcome["kind"], outcome["message"]) == ("incomplete", NO_TOKEN)
        expect(page.locator("button")).to_be_hidden()
        assert shown.posts() == []


def test_an_unknown_token_is_an_invalid_link(page: Page, site: Site) -> None:
    shown = LinkPage(page)
    shown.open(f"{site.api}/email/verify#token={FAKE_TOKEN}")
    outcome = shown.verify()
    assert (outcome["kind"], outcome["message"]) == ("invalid", INVALID_LINK)
    assert shown.problems() == []


def answer_with(status: int, body: dict[str, object]) -> Callable[[Route], None]:
    """A route handler answering the page's POST with `status` and `body` (the service's own
    429 and 503 are hard to cause on demand from a browser: this shows what the page makes of
    them), the GET of the page itself going on to the service."""

    def handle(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if "retry_after" in body:
            headers["Retry-After"] = str(body["retry_after"])
        route.fulfill(status=status, headers=headers, body=json.dumps(body))

    return handle


def test_429_and_503_show_the_message_and_when_to_try_again(page: Page, site: Site) -> None:
    cases = [
        (429, {"code": 9, "message": "too many requests", "retry_after": 31}, "limited"),
        (503, {"code": 10, "message": "service unavailable", "retry_after": 2}, "unavailable"),
    ]
    for status, body, kind in cases:
        page.unroute("**/password/reset")
        page.route("**/password/reset", answer_with(status, body))
        shown = LinkPage(page)
        shown.open(f"{site.api}/password/reset#token={FAKE_TOKEN}")
        outcome = shown.set_password(NEW_PASSWORD)
        assert (outcome["kind"], outcome["message"]) == (kind, body["message"])
        assert outcome["advice"].endswith(f"Try again in {body['retry_after']} s."), outcome
        expect(page.locator("#reset button")).to_be_enabled()


def test_service_text_is_shown_as_text(page: Page, site: Site) -> None:
    body = {"code": 3, "message": "<b>bad</b>", "errors": {"password": "<i>x</i>"}}
    page.route("**/email/verify", answer_with(400, body))
    shown = LinkPage(page)
    shown.open(f"{site.api}/email/verify#token={FAKE_TOKEN}")
    outcome = shown.verify()
    assert (outcome["message"], outcome["reasons"]) == ("<b>bad</b>", "password: <i>x</i>")
    assert page.locator("#outcome b, #outcome i").count() == 0
