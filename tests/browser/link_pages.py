"""The pages mailed links open, driven in Chromium as a person would (open the link, press the
button or fill the form, read what the page says), and the API calls a test makes around them
without a page (register, log in, ask for a reset), through the browser context's own client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import APIRequestContext, ConsoleMessage, Locator, Page, Request, expect

from tests.browser.site import Site
from tests.browser.test_spa_journeys import PASSWORD, new_username
from tests.support.mail import MailSink, link_in

# What the pages say (factsvc/link_pages/page.js).
VERIFIED = "Your email address is verified."
PASSWORD_SET = "Your new password is set."
INVALID_LINK = "invalid or expired link"
NO_TOKEN = "This link has no token."
# How Chromium's console reports a fetch answered with an error status (not a problem here).
ANSWERED_WITH_AN_ERROR = "Failed to load resource: the server responded with a status of"
PASSWORDS_DIFFER = "The two passwords differ."


@dataclass(frozen=True)
class Account:
    """A user registered through the API: its username, password and email address."""

    username: str
    password: str
    email: str


class LinkPage:
    """A page opened at a mailed link (or any URL of the link pages), recording every request
    it sends and every console message (a blocked load or a policy violation shows there)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[Request] = []
        self.console: list[ConsoleMessage] = []
        page.on("request", self._sent)
        page.on("console", self._logged)

    def _sent(self, request: Request) -> None:
        self.requests.append(request)

    def _logged(self, message: ConsoleMessage) -> None:
        self.console.append(message)

    def open(self, url: str) -> None:
        """Load `url` and wait until the page's script has run (its outcome shown, or its
        control enabled)."""
        self.page.goto(url)
        ready = "#outcome:not([hidden]), #verify:enabled, #reset button:enabled"
        expect(self.page.locator(ready).first).to_be_visible()

    def field(self, name: str) -> Locator:
        return self.page.locator(f'#outcome [data-field="{name}"]')

    def outcome(self) -> dict[str, str]:
        """What the page shows once no request is under way: `kind` (data-outcome), `message`,
        `advice` and `reasons` (one per line)."""
        outcome = self.page.locator("#outcome")
        expect(outcome).not_to_have_attribute("data-outcome", "busy")
        expect(outcome).to_be_visible()
        return {
            "kind": outcome.get_attribute("data-outcome") or "",
            "message": self.field("message").inner_text(),
            "advice": self.field("advice").inner_text(),
            "reasons": "\n".join(self.field("reasons").locator("li").all_inner_texts()),
        }

    def verify(self) -> dict[str, str]:
        """Press the verification page's button: what the page then shows."""
        self.page.locator("#verify").click()
        return self.outcome()

    def set_password(self, password: str, again: str | None = None) -> dict[str, str]:
        """Fill the reset page's form (`again` in the second field, by default `password`) and
        submit it: what the page then shows."""
        self.page.locator("#reset [name=password]").fill(password)
        self.page.locator("#reset [name=confirm]").fill(password if again is None else again)
        self.page.locator("#reset button").click()
        return self.outcome()

    def posts(self) -> list[Request]:
        return [request for request in self.requests if request.method == "POST"]

    def problems(self) -> list[str]:
        """Console errors and warnings (a script, style or connection the policy refused, an
        error in the script), but for the line Chromium logs for each error status answered."""
        return [
            f"{m.type}: {m.text}"
            for m in self.console
            if m.type in ("error", "warning") and not m.text.startswith(ANSWERED_WITH_AN_ERROR)
        ]


def post(api: APIRequestContext, site: Site, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` as JSON to the API's `path`: {"status": ..., **the JSON answer}."""
    response = api.post(site.api + path, data=body)
    answer: dict[str, Any] = response.json()
    return {"status": response.status, **answer}


def registered(api: APIRequestContext, site: Site, mail: MailSink) -> tuple[Account, str]:
    """A new account with an email address: the account, and the verification link mailed."""
    username = new_username()
    account = Account(username, PASSWORD, f"{username}@example.com")
    body = {"username": username, "password": PASSWORD, "email": account.email}
    answer = post(api, site, "/register", body)
    assert answer["status"] == 201, answer
    return account, link_in(mail.wait_for_next_to(account.email))


def login_status(api: APIRequestContext, site: Site, username: str, password: str) -> int:
    """The status of a login (token mode, so that no cookie is kept)."""
    body = {"username": username, "password": password, "session": "token"}
    return int(post(api, site, "/login", body)["status"])


def account_info(api: APIRequestContext, site: Site, account: Account) -> dict[str, Any]:
    """The account's `user`, as GET /account/info shows it to a fresh login."""
    body = {"username": account.username, "password": account.password, "session": "token"}
    login = post(api, site, "/login", body)
    assert login["status"] == 200, login
    response = api.get(
        site.api + "/account/info", headers={"Authorization": f"Bearer {login['token']}"}
    )
    assert response.status == 200, response.text()
    user: dict[str, Any] = response.json()["user"]
    return user
