"""How a new session's credential reaches the client: the cookie, the token in the body, or both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from factsvc.errors import InvalidInput

# Request headers that mark a browser: no page script can set them (forbidden request headers,
# Fetch standard). A browser sends Origin on every request whose method is neither GET nor
# HEAD (the Fetch standard's "append a request `Origin` header"), so on every login; Fetch
# Metadata (Sec-Fetch-*) only to potentially trustworthy URLs (W3C Fetch Metadata, "set the
# Fetch metadata headers for a request"), so never to an API on plain http other than
# localhost. Other clients rarely send any of them.
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Mode", "Sec-Fetch-Site")
# A browser drops a cookie set by an answer to a cross-site request unless it is SameSite=None
# (RFC 6265bis, the storage model), and with third-party cookie blocking even then: the login
# would look done and the next request would find no session.
CROSS_SITE_COOKIE = "must be 'token' for a page on another site: its browser drops the cookie"


@dataclass(frozen=True)
class Delivery:
    """Whether the answer sets the session cookie, and whether its body carries `token`."""

    cookie: bool
    token: bool


COOKIE = Delivery(cookie=True, token=False)
TOKEN = Delivery(cookie=False, token=True)
# Both at once: what every login answered before clients could choose; kept for clients that
# do not choose and are not browsers, so that mobile apps and curl cookie jars keep working.
BOTH = Delivery(cookie=True, token=True)
BY_MODE = {"cookie": COOKIE, "token": TOKEN}


def is_browser(headers: Mapping[str, str]) -> bool:
    """Whether a request comes from a browser: it carries Origin or Fetch Metadata."""
    return any(name in headers for name in BROWSER_HEADERS)


def is_cross_site(headers: Mapping[str, str]) -> bool:
    """Whether a browser marks the request as sent by a page on another site than the API's
    (`Sec-Fetch-Site: cross-site`, W3C Fetch Metadata)."""
    return headers.get("Sec-Fetch-Site") == "cross-site"


def login_delivery(
    mode: str | None, headers: Mapping[str, str], *, cookie_crosses_sites: bool
) -> Delivery:
    """The delivery of a login's session: the `session` mode the body chose ("cookie" or
    "token"); without one, the cookie alone for a browser, so that no page script can read
    the credential that HttpOnly hides, and both for any other client.

    The cookie for a page on another site is refused (InvalidInput for `session`), unless
    `cookie_crosses_sites` (SameSite=None: the operator chose cookies across sites): the
    browser would drop it silently."""
    default = COOKIE if is_browser(headers) else BOTH
    delivery = default if mode is None else BY_MODE[mode]
    if delivery.cookie and is_cross_site(headers) and not cookie_crosses_sites:
        raise InvalidInput({"session": CROSS_SITE_COOKIE})
    return delivery


def renewal_delivery(by_bearer: bool) -> Delivery:
    """The delivery of a session that replaces the request's own (a password change): the
    way the request presented its session, `Authorization: Bearer` or the cookie."""
    return TOKEN if by_bearer else COOKIE
