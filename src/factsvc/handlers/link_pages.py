"""The pages a mailed link opens (GET /email/verify, GET /password/reset) and their one script and
stylesheet: files shipped in the package (factsvc/link_pages/), served under a policy that lets
them load those two files and talk to this origin, and nothing else."""

from __future__ import annotations

from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import ClassVar

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.http_caching import NO_STORE

# Content Security Policy Level 3: the page's own script and stylesheet only (so no inline
# script, and nothing injected could run), fetch to this origin only, no form submission (the
# script sends the JSON itself), no <base> to redirect relative URLs, never inside a frame
# (clickjacking), and Trusted Types: a string given to an HTML sink throws (the script writes
# textContent only).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    )
)
# Sent with each file. no-referrer: no request the page causes names its URL (the token is in
# the fragment, which a Referer never carries, but the path alone says a reset was under way);
# no-store: a page holding a token in its script's memory is kept by no cache.
PAGE_HEADERS = MappingProxyType(
    {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": NO_STORE,
    }
)
PACKAGE_DIRECTORY = "link_pages"
HTML = "text/html; charset=UTF-8"
# RFC 9239 §6: text/javascript is JavaScript's one media type.
JAVASCRIPT = "text/javascript; charset=UTF-8"
CSS = "text/css; charset=UTF-8"
SCRIPT_PATH = "/link-pages/page.js"
STYLE_PATH = "/link-pages/page.css"


@cache
def packaged(name: str) -> bytes:
    """The bytes of the file `name` of factsvc/link_pages/, read once per process;
    FileNotFoundError for a name not shipped."""
    return resources.files("factsvc").joinpath(PACKAGE_DIRECTORY, name).read_bytes()


class LinkPageFile(BaseHandler):
    """GET (and HEAD): the shipped file FILE as MEDIA_TYPE, with PAGE_HEADERS. A route whose
    POST takes the link's token serves its page by subclassing the page's class."""

    FILE: ClassVar[str]
    MEDIA_TYPE: ClassVar[str]

    async def get(self) -> None:
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", self.MEDIA_TYPE)
        await self.send_body(packaged(self.FILE))


class VerifyEmailPage(LinkPageFile):
    """The page of a verification mail's link: a button POSTs the token to /email/verify."""

    FILE = "verify-email.html"
    MEDIA_TYPE = HTML


class ResetPasswordPage(LinkPageFile):
    """The page of a reset mail's link: a form POSTs the token and the new password (typed
    twice) to /password/reset."""

    FILE = "reset-password.html"
    MEDIA_TYPE = HTML


class LinkPageScript(LinkPageFile):
    """The pages' one script (SCRIPT_PATH)."""

    FILE = "page.js"
    MEDIA_TYPE = JAVASCRIPT


class LinkPageStyle(LinkPageFile):
    """The pages' one stylesheet (STYLE_PATH)."""

    FILE = "page.css"
    MEDIA_TYPE = CSS
