"""What CORS_ORIGINS means for browsers, said at start: the origins, and the silent failures
(a dropped cookie, an origin no browser sends) that the configuration makes likely."""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import NamedTuple
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from factsvc.config.declaring import variable_of
from factsvc.config.settings import Settings

ORIGINS = variable_of(Settings.model_fields["cors_origins"])
DEFAULT_PORTS = {"http": 80, "https": 443}
BEARER_INSTEAD = 'log in with "session": "token" and send Authorization: Bearer'
NONE_LISTED = "pages on other origins can neither read an answer nor change anything"
PLAIN_HTTP = (
    "is plain http and DEBUG is false: the session cookie is Secure, which a browser keeps "
    "only over https or on localhost, so cookie mode fails silently there; serve the page "
    f"and the API over https, or {BEARER_INSTEAD}"
)
SITES = (
    "a browser sends the session cookie only to an API on the page's own site (SameSite, "
    "third-party cookie blocking), so cookie mode works for one site at most; pages on the "
    f"others must {BEARER_INSTEAD}"
)


class LogLine(NamedTuple):
    """One line for the start-up log: its level (logging.INFO or WARNING) and its text."""

    level: int
    message: str


def origin_advice(settings: Settings) -> list[LogLine]:
    """The lines the service logs at start about CORS_ORIGINS: the origins at INFO, then a
    WARNING for each likely silent failure in a browser:
    - an origin that is not written as browsers write their Origin header, which no request
      can match (CORS_ORIGINS matches exactly);
    - outside DEBUG, a plain http origin other than a loopback one: the session cookie is
      Secure, which a browser keeps only over https or on localhost;
    - origins on more than one site: a browser sends the session cookie only to an API on
      the page's own site (SameSite, third-party cookie blocking), so pages on every other
      site need token mode.
    """
    origins = settings.cors_origins
    if not origins:
        return [LogLine(logging.INFO, f"{ORIGINS}: none listed; {NONE_LISTED}")]
    # Origins no request can match (each warned about) belong to no site that matters.
    by_site: dict[str, list[str]] = {}
    for origin in origins:
        if browser_form(origin) == origin:
            by_site.setdefault(schemeful_site(origin), []).append(origin)
    listed = ", ".join(origins)
    if len(by_site) == 1:
        listed += f" (site {next(iter(by_site))}: cookie mode needs the API on it too)"
    lines = [LogLine(logging.INFO, f"{ORIGINS}: {listed}")]
    lines += [
        LogLine(logging.WARNING, f"{ORIGINS}: {origin} {problem}")
        for origin in origins
        if (problem := _origin_problem(origin, settings.debug))
    ]
    if len(by_site) > 1:
        spans = "; ".join(f"{site} for {', '.join(members)}" for site, members in by_site.items())
        lines.append(
            LogLine(
                logging.WARNING, f"{ORIGINS}: origins on {len(by_site)} sites ({spans}): {SITES}"
            )
        )
    return lines


def _origin_problem(origin: str, debug: bool) -> str:
    """Why a browser on `origin` would fail silently, or "" when nothing is known to."""
    written = browser_form(origin)
    if written is None:
        return "is an origin no browser sends: no request matches it"
    if written != origin:
        return f"is written {written} by browsers: no request matches it"
    if not debug and _is_plain_http_beyond_loopback(origin):
        return PLAIN_HTTP
    return ""


def schemeful_site(origin: str) -> str:
    """The origin's site (HTML standard, "obtain a site"; schemeful same-site, RFC 6265bis
    §5.2): its scheme and registrable domain from the Public Suffix List, ports ignored. An
    IP literal, `localhost`, or a host that is itself a public suffix is its own site. An
    origin no URL parser takes is its own site as written."""
    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return origin
    if not host:
        return origin
    if (ip := _ip_address(host)) is not None:
        return f"{parts.scheme}://{_bracketed(ip.compressed)}"
    return f"{parts.scheme}://{_public_suffixes().privatesuffix(host) or host}"


def browser_form(origin: str) -> str | None:
    """How a browser writes `origin` in an Origin header (WHATWG URL, "ASCII serialization of
    an origin"): lower-case host (IDNA for other scripts), IPv6 compressed, no default port;
    None when it is no http(s) origin at all (user info, query, a bad port or host)."""
    try:
        parts = urlsplit(origin)
        port, host = parts.port, parts.hostname
        if not host or "@" in parts.netloc or parts.query or parts.fragment:
            return None
        ip = _ip_address(host)
        host = _bracketed(ip.compressed) if ip is not None else host.encode("idna").decode()
    except (ValueError, UnicodeError):
        return None
    shown_port = "" if port is None or port == DEFAULT_PORTS.get(parts.scheme) else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def _is_plain_http_beyond_loopback(origin: str) -> bool:
    parts = urlsplit(origin)
    host = parts.hostname or ""
    ip = _ip_address(host)
    loopback = ip.is_loopback if ip is not None else host == "localhost"
    return parts.scheme == "http" and not loopback and not host.endswith(".localhost")


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # The list bundled with the package (ICANN and private suffixes, as browsers use it).
    return PublicSuffixList()
