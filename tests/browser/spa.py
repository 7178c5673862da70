"""The demo SPA (examples/spa) driven as a person would: fill a form, press its button, read what
the page shows; and every request and answer the page exchanged with the API."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import FilePayload, Locator, Page, Request, Response, expect

import driving
from tests.browser.site import Site

# A page script's fetch: the status, the headers a page script can read, and the JSON body;
# or the error the fetch rejected with ("TypeError: Failed to fetch").
FETCH_FROM_PAGE = """async ([url, init]) => {
  try {
    const response = await fetch(url, init);
    const headers = {};
    for (const name of ["x-request-id", "retry-after", "allow", "www-authenticate"]) {
      headers[name] = response.headers.get(name);
    }
    return { status: response.status, headers, body: await response.json() };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
}"""


class Spa:
    """The SPA in `page`, loaded from `origin` and talking to `site.api` in session `mode`."""

    def __init__(self, page: Page, site: Site, origin: str, mode: str) -> None:
        self.page, self.site, self.origin, self.mode = page, site, origin, mode
        self.requests: list[Request] = []
        self.responses: list[Response] = []
        page.on("request", self._sent)
        page.on("response", self._answered)

    def _sent(self, request: Request) -> None:
        self.requests.append(request)

    def _answered(self, response: Response) -> None:
        self.responses.append(response)

    def open(self) -> Response | None:
        """Load the page; wait until its modules have shown the session mode."""
        response = self.page.goto(self.site.page_url(self.origin, self.mode))
        expect(self.field("mode")).to_have_attribute("data-mode", self.mode)
        return response

    def field(self, name: str) -> Locator:
        return self.page.locator(f'[data-field="{name}"]')

    def shown(self, name: str) -> str:
        """The text the page shows in the field `name` (a data-field attribute)."""
        return self.field(name).inner_text()

    def register(self, username: str, password: str, nickname: str = "", email: str = "") -> str:
        values = {"username": username, "password": password, "nickname": nickname}
        return self.submit("register", values | {"email": email})

    def login(self, username: str, password: str) -> str:
        return self.submit("login", {"username": username, "password": password})

    def who_am_i(self) -> str:
        return self.press("#whoami")

    def info(self) -> str:
        return self.press("#info")

    def logout(self) -> str:
        return self.press("#logout")

    def edit_nickname(self, nickname: str) -> str:
        return self.submit("nickname", {"nickname": nickname})

    def edit_email(self, email: str, old_password: str = "") -> str:
        return self.submit("email", {"email": email, "old_password": old_password})

    def remove_email(self, old_password: str = "") -> str:
        """Remove the address, typing `old_password` into the address form's password field."""
        self.page.locator("#email [name=old_password]").fill(old_password)
        return self.press("#email-remove")

    def send_verification_again(self) -> str:
        return self.press("#email-send-again")

    def forgot_password(self, username_or_email: str) -> str:
        return self.submit("forgot", {"who": username_or_email})

    def change_password(self, old_password: str, password: str) -> str:
        return self.submit("password", {"old_password": old_password, "password": password})

    def factorial(self, n: int) -> str:
        return self.submit("fact", {"n": str(n)})

    def upload_avatar(self, name: str, media_type: str, content: bytes) -> str:
        """Choose the file `name` (its type `media_type`, `content` its bytes) and upload it."""
        chosen: FilePayload = {"name": name, "mimeType": media_type, "buffer": content}
        self.page.locator("#avatar [name=avatar]").set_input_files(chosen)
        return self.press("#avatar button")

    def remove_avatar(self) -> str:
        return self.press("#avatar-remove")

    def avatar(self) -> Locator:
        """The user's avatar, an <img>."""
        return self.field("avatar")

    def list_sessions(self) -> str:
        return self.press("#sessions-list")

    def end_other_sessions(self) -> str:
        return self.press("#sessions-end-others")

    def end_session(self, session_id: str) -> str:
        """Press "End" on the row of the session `session_id` (as the sessions table shows)."""
        return self.press(f'#sessions-table button[data-session-id="{session_id}"]')

    def sessions(self) -> list[dict[str, str]]:
        """The sessions table, a row each (newest first) by column: `id` (the row's session id),
        `device` ("this device" or ""), `created`, `last used`, `client`, `user agent`."""
        rows = []
        for row in self.field("sessions").locator("tr").all():
            cells = row.locator("td").all_inner_texts()
            columns = ("device", "created", "last used", "client", "user agent", "button")
            shown = dict(zip(columns, cells, strict=True))
            shown["id"] = row.get_attribute("data-session-id") or ""
            rows.append(shown)
        return rows

    def delete_account(self, password: str) -> str:
        return self.submit("delete-account", {"password": password})

    def submit(self, form: str, values: dict[str, str]) -> str:
        """The status line after submitting the form `form` filled with `values` (driving.py)."""
        return driving.submit(self.page, form, values)

    def press(self, selector: str) -> str:
        """The status line after the action that a click on `selector` started (driving.py)."""
        return driving.press(self.page, selector)

    def error(self) -> dict[str, str]:
        """The error panel, by field; `fields` is the field reasons, one per line."""
        names = (
            "error-message",
            "error-status",
            "request-id-header",
            "request-id-body",
            "retry-after-header",
            "retry-after-body",
        )
        shown = {name: self.shown(name) for name in names}
        shown["fields"] = "\n".join(self.field("error-fields").locator("li").all_inner_texts())
        return shown

    def fetch(self, path: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
        """A fetch of the API's `path` by a page script (FETCH_FROM_PAGE's answer)."""
        answer: dict[str, Any] = self.page.evaluate(
            FETCH_FROM_PAGE, [self.site.api + path, init or {}]
        )
        return answer

    def api_responses(self, method: str, path: str) -> list[Response]:
        """The API's answers to the page's `method` requests for `path` (query included)."""
        url = self.site.api + path
        return [
            response
            for response in self.responses
            if response.request.method == method and response.url == url
        ]

    def api_requests(self) -> list[Request]:
        """Every request the page sent to the API, preflights aside."""
        return [
            request
            for request in self.requests
            if request.url.startswith(self.site.api + "/") and request.method != "OPTIONS"
        ]
