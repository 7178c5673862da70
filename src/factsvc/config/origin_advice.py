"""What CORS_ORIGINS means for browsers, said at start: the origins, and the silent failures
(a dropped cookie, an origin no browser sends) that the configuration makes likely."""

from __future__ import annotations

import logging
from typing import NamedTuple
from urllib.parse import urlsplit

from factsvc.config.declaring import variable_of
from factsvc.config.origin_form import browser_form, browser_host, is_loopback_host, schemeful_site
from factsvc.config.settings import Settings

ORIGINS = variable_of(Settings.model_fields["cors_origins"])
BEARER_INSTEAD = 'log in with "session": "token" and send Authorization: Bearer'
NONE_LISTED = "pages on other origins can neither read an answer nor change anything"
PLAIN_HTTP = (
    "is plain http and DEBUG is false: the session cookie is Secure, which a browser keeps "
    "only over https or on localhost, so cookie mode fails silently there; serve the page "
    f"and the API over https, or {BEARER_INSTEAD}"
)
ONE_SITE = (
    "cookie mode needs the API on that site too, which the service cannot check: it does not "
    "know the address that pages reach it at"
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
    """The lines the service logs at start about CORS_ORIGINS: the origins at INFO (with the
    site they share, if one: cookie mode needs the API on it, which the service cannot check,
    not knowing the address pages reach it at), then a WARNING for each likely silent failure
    in a browser:
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
        listed += f" (site {next(iter(by_site))}: {ONE_SITE})"
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


def _is_plain_http_beyond_loopback(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == "http" and not is_loopback_host(browser_host(parts.hostname or ""))
