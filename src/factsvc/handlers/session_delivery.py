"""How a new session's credential reaches the client: the cookie, the token in the body, or both."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

# Fetch Metadata request headers (W3C Fetch Metadata, the Fetch standard's "append a request
# `Sec-Fetch-*` header"): every current browser sends them on its requests, and no page script
# can set them (they are forbidden request headers). Other clients rarely send them.
FETCH_METADATA = ("Sec-Fetch-Mode", "Sec-Fetch-Site")


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


def is_browser(headers: Container[str]) -> bool:
    """Whether a request comes from a browser: it carries Fetch Metadata headers."""
    return any(name in headers for name in FETCH_METADATA)


def login_delivery(mode: str | None, headers: Container[str]) -> Delivery:
    """The delivery of a login's session: the `session` mode the body chose ("cookie" or
    "token"); without one, the cookie alone for a browser, so that no page script can read
    the credential that HttpOnly hides, and both for any other client."""
    if mode is not None:
        return BY_MODE[mode]
    return COOKIE if is_browser(headers) else BOTH


def renewal_delivery(by_bearer: bool) -> Delivery:
    """The delivery of a session that replaces the request's own (a password change): the
    way the request presented its session, `Authorization: Bearer` or the cookie."""
    return TOKEN if by_bearer else COOKIE
