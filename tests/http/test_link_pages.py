"""The pages mailed links open (GET /email/verify, GET /password/reset), their script and their
stylesheet, over real sockets: the shipped files, each with the policy that keeps a page holding a
token from loading or sending anything elsewhere, and no inline code the policy would block."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.handlers.link_pages import (
    SCRIPT_PATH,
    STYLE_PATH,
    LinkPageFile,
    LinkPageScript,
    LinkPageStyle,
    ResetPasswordPage,
    VerifyEmailPage,
    packaged,
)

pytestmark = pytest.mark.gen_test(timeout=30)

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'"
)
PAGES = {"/email/verify": VerifyEmailPage, "/password/reset": ResetPasswordPage}
FILES: dict[str, tuple[type[LinkPageFile], str]] = {
    "/email/verify": (VerifyEmailPage, "text/html; charset=UTF-8"),
    "/password/reset": (ResetPasswordPage, "text/html; charset=UTF-8"),
    SCRIPT_PATH: (LinkPageScript, "text/javascript; charset=UTF-8"),
    STYLE_PATH: (LinkPageStyle, "text/css; charset=UTF-8"),
}


async def get(http_client: AsyncHTTPClient, url: str, method: str = "GET") -> HTTPResponse:
    return await http_client.fetch(url, method=method, raise_error=False)


class Markup(HTMLParser):
    """What a page's markup loads and runs: script and stylesheet URLs, inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.stylesheets: list[str | None] = []
        self.inline: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.inline += [f"{tag} {name}" for name in named if name == "style" or name[:2] == "on"]
        if tag == "script":
            self.scripts.append(named.get("src"))
            self._in_script = True
        elif tag == "link" and named.get("rel") == "stylesheet":
            self.stylesheets.append(named.get("href"))
        elif tag == "style":
            self.inline.append("style element")
        elif tag == "form":
            self.forms.append(named)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script text {data[:40]!r}")


@pytest.mark.parametrize("path", sorted(FILES))
async def test_each_file_is_served_as_shipped_with_the_strict_policy(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    handler, media_type = FILES[path]
    answer = await get(http_client, base_url + path)
    assert answer.code == 200
    assert answer.body == packaged(handler.FILE)
    assert answer.headers["Content-Type"] == media_type
    assert answer.headers["Content-Security-Policy"] == POLICY
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "ETag" not in answer.headers
    head = await get(http_client, base_url + path, "HEAD")
    assert (head.code, head.body) == (200, b"")
    assert head.headers["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("path", sorted(PAGES))
async def test_a_page_loads_the_one_script_and_stylesheet_and_has_no_inline_code(
    http_client: AsyncHTTPClient, base_url: str, path: str
) -> None:
    markup = Markup()
    markup.feed((await get(http_client, base_url + path)).body.decode())
    page_url = base_url + path
    # Relative references: the pages work under a path prefix too (a proxy's).
    assert [urljoin(page_url, src or "") for src in markup.scripts] == [base_url + SCRIPT_PATH]
    assert [urljoin(page_url, href or "") for href in markup.stylesheets] == [base_url + STYLE_PATH]
    assert markup.inline == []


async def test_the_reset_form_would_never_put_the_passwords_in_a_url(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    """Without its script (or with a browser that ignores form-action), a GET form would send
    the passwords in the query string; this one is POST, and its button starts disabled."""
    body = (await get(http_client, base_url + "/password/reset")).body.decode()
    markup = Markup()
    markup.feed(body)
    assert [form.get("method") for form in markup.forms] == ["post"]
    assert '<button type="submit" disabled>' in body


async def test_an_unknown_file_beside_the_script_is_a_json_404(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    # A route's `.` is no wildcard (Route.pattern escapes the path).
    others = ("/link-pages/pagexjs", "/link_pages/page.css", "/openapi-json")
    for path in ("/link-pages/verify-email.html", "/link-pages/", "/link-pages/page.js/x", *others):
        answer = await get(http_client, base_url + path)
        assert answer.code == 404, path
        assert answer.headers["Content-Type"].startswith("application/json")


def test_the_script_writes_text_only() -> None:
    """No HTML sink: the service's messages are set with textContent (Trusted Types would
    throw at an innerHTML anyway)."""
    script = packaged("page.js").decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent" in script
    assert "history.replaceState" in script
