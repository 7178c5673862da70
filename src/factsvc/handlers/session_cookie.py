"""The session cookie: its name, its attributes, signing, and the one session a request's
cookies of that name stand for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from tornado.web import create_signed_value, decode_signed_value

# RFC 6265bis §4.1.3: a cookie so named is stored only when Secure, with Path=/ and no Domain,
# so no other host (a sibling subdomain) can set one the service would read.
HOST_PREFIX = "__Host-"
# Names a browser stores only with Secure (RFC 6265bis §4.1.3.1, §4.1.3.2).
SECURE_PREFIXES = ("__secure-", "__host-")
# Tornado's signed-value format 2, the one that carries the key version.
SIGNED_VALUE_VERSION = 2
# The only blanks a user agent trims around a cookie's name and value: WSP, SP or HTAB (RFC 6265
# §5.2 step 4, unchanged in RFC 6265bis; RFC 5234 Appendix B.1).
# str.strip() would also drop NBSP, NEL and other Unicode spaces (Tornado decodes headers as
# Latin-1), which browsers keep in a name: "\xa0__Host-SID" is a different cookie to them, one
# any sibling subdomain may set without the prefix's rules, and must never pass for ours.
WSP = " \t"


class CookieAttributes(TypedDict):
    """Set-Cookie attributes, as Tornado's set_cookie and clear_cookie take them."""

    path: str
    httponly: bool
    samesite: str
    secure: bool


def cookie_name(configured: str, *, debug: bool) -> str:
    """The session cookie's name: `configured` in DEBUG; outside it, `__Host-` + `configured`,
    unless `configured` already starts with that prefix (compared case-insensitively, as user
    agents compare it since RFC 6265bis draft 11), which is kept as is."""
    if debug or configured.lower().startswith(HOST_PREFIX.lower()):
        return configured
    return HOST_PREFIX + configured


@dataclass(frozen=True)
class CookiePolicy:
    """How the session cookie is named, written and verified.

    `secrets` maps key versions to signing secrets (Tornado's rotation scheme: app.cookie_secrets);
    `key_version` is the one that signs, the others still verify. `max_age_seconds` is both the
    cookie's Max-Age and, plus a day, the oldest signature accepted."""

    name: str
    secure: bool
    samesite: str
    max_age_seconds: int
    secrets: dict[int, str] = field(repr=False)
    key_version: int = field(repr=False)

    @classmethod
    def build(
        cls,
        configured_name: str,
        *,
        debug: bool,
        samesite: str,
        max_age_seconds: int,
        secrets: Mapping[int, str],
        key_version: int,
    ) -> CookiePolicy:
        """The policy for SESSION_COOKIE_NAME and SESSION_COOKIE_SAMESITE (`Lax`, `Strict` or
        `None`, as the setting's rule spells them). Secure always outside DEBUG; in DEBUG only
        where a browser would drop the cookie without it: a prefixed name, or SameSite=None
        (the RFC 6265bis storage model; browsers store Secure cookies from http://localhost too)."""
        name = cookie_name(configured_name, debug=debug)
        needs_secure = name.lower().startswith(SECURE_PREFIXES) or samesite == "None"
        return cls(
            name=name,
            secure=not debug or needs_secure,
            samesite=samesite,
            max_age_seconds=max_age_seconds,
            secrets=dict(secrets),
            key_version=key_version,
        )

    @property
    def crosses_sites(self) -> bool:
        """Whether a browser may store and send the cookie on cross-site requests: only when
        SameSite is None (RFC 6265bis), and third-party cookie blocking may still drop it."""
        return self.samesite == "None"

    def attributes(self) -> CookieAttributes:
        """The Set-Cookie attributes for Tornado's set_cookie and clear_cookie: Path=/, no
        Domain (a host-only cookie, as the __Host- prefix requires), HttpOnly, SameSite,
        Secure."""
        return {"path": "/", "httponly": True, "samesite": self.samesite, "secure": self.secure}

    def signed(self, token: str) -> str:
        """`token` signed under this cookie's name with the current secret (Tornado's format 2:
        the key version, a timestamp, the name, the value in base64 and an HMAC-SHA256)."""
        value = create_signed_value(
            self.secrets,
            self.name,
            token,
            version=SIGNED_VALUE_VERSION,
            key_version=self.key_version,
        )
        return value.decode("ascii")

    def verified(self, value: str) -> str | None:
        """The token `value` carries when its signature verifies for this name under one of the
        secrets and is younger than the cookie's lifetime plus a day; None otherwise."""
        token = decode_signed_value(
            self.secrets,
            self.name,
            value,
            max_age_days=self.max_age_seconds / 86400 + 1,
            min_version=SIGNED_VALUE_VERSION,
        )
        return token.decode("ascii", "replace") if token is not None else None

    def session_token(self, cookie_lines: Iterable[str]) -> str | None:
        """The session token the request's cookies of this name stand for, or None.

        Values that do not verify are ignored, whatever their place: a cookie tossed in by
        another host (`SID=<valid>; SID=junk`, in either order) cannot log its user out. One
        verified token, however often it comes, is the session; two different ones are none,
        so that a tossed cookie never chooses whose session a request runs in."""
        tokens = self.verified_tokens(cookie_lines)
        return next(iter(tokens)) if len(tokens) == 1 else None

    def verified_tokens(self, cookie_lines: Iterable[str]) -> frozenset[str]:
        """Every distinct token the request's cookies of this name carry under a signature
        that verifies: the sessions a login or a logout ends, whichever one the request runs
        in (session_token)."""
        return frozenset(
            token
            for value in cookie_values(cookie_lines, self.name)
            if (token := self.verified(value)) is not None
        )

    def carried(self, cookie_lines: Iterable[str]) -> bool:
        """Whether the request carries a cookie of this name, verified or not."""
        return bool(cookie_values(cookie_lines, self.name))


def cookie_values(cookie_lines: Iterable[str], name: str) -> list[str]:
    """Every value of the cookie `name` in the request's Cookie header lines, in order.

    A browser sends its cookies as `name=value` pairs joined by "; " (RFC 6265 §5.4; HTTP/2
    may split them over several Cookie lines, RFC 9113 §8.2.3): each line is split on ";" and
    each pair on its first "=", spaces and tabs around both trimmed (WSP: no other blank);
    names compare exactly (they are case-sensitive); a pair without "=" is a nameless cookie
    and never this one. A value in double quotes (RFC 6265 §4.1.1's cookie-value;
    http.cookies quotes Tornado's signed values, which hold "=") loses its quotes. Tornado's
    own parser keeps only the last value of a name, and http.cookies skips or merges malformed
    pairs, so neither can see every value."""
    values = []
    for line in cookie_lines:
        for pair in line.split(";"):
            key, equals, value = pair.partition("=")
            if equals and key.strip(WSP) == name:
                value = value.strip(WSP)
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                values.append(value)
    return values
