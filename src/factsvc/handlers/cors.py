"""CORS (the Fetch standard): which preflights pass, and the headers a listed origin gets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from factsvc.config import Settings
from factsvc.config.declaring import variable_of
from factsvc.errors import CrossOriginRefused

# The response headers a page may read beyond the CORS-safelisted ones: the request id for a
# report, the delay of a 429 or 503, the scheme a 401 asks for and the methods a 405 offers.
EXPOSED_HEADERS = "X-Request-ID, Retry-After, WWW-Authenticate, Allow"
ORIGINS_SETTING = variable_of(Settings.model_fields["cors_origins"])
HEADERS_SETTING = variable_of(Settings.model_fields["cors_allowed_headers"])
# RFC 9110 §9.1: a method is a token (case-sensitive).
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class PreflightRefused(CrossOriginRefused):
    """A refused preflight: `reason` says why in one word (`origin_not_listed`,
    `header_not_allowed:x-foo`: log lines escape spaces), `setting` names the setting that
    decides it."""

    def __init__(self, reason: str, setting: str = ORIGINS_SETTING) -> None:
        super().__init__(reason)
        self.reason = reason
        self.setting = setting


def refusal_fields(error: BaseException | None) -> dict[str, str]:
    """The `setting` and `reason` that a cross-origin refusal's security event names: a
    refused preflight's own; any other refusal is Tornado's cross_origin_protection refusing
    a state change whose origin is neither the API's nor listed."""
    if isinstance(error, PreflightRefused):
        return {"setting": error.setting, "reason": error.reason}
    return {"setting": ORIGINS_SETTING, "reason": "origin_not_listed"}


def allow_origin_headers(origin: str) -> dict[str, str]:
    """The headers that let a listed `origin` read an answer (errors included), cookies
    included, and the headers named in EXPOSED_HEADERS."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }


def is_listed_preflight(
    method: str | None,
    origin: str | None,
    requested_method: str | None,
    is_listed: Callable[[str], bool],
) -> bool:
    """Whether a request is a CORS preflight (Fetch standard, "CORS-preflight request": an
    OPTIONS with Origin and Access-Control-Request-Method) from a listed origin."""
    return (
        method == "OPTIONS"
        and origin is not None
        and requested_method is not None
        and is_listed(origin)
    )


@dataclass(frozen=True)
class CorsPolicy:
    """What a preflight from a listed origin may ask for: the request headers named in
    `allowed_headers` (CORS_ALLOWED_HEADERS, compared case-insensitively), with any method;
    `max_age_seconds` is how long a browser may reuse the answer (CORS_MAX_AGE_SECONDS)."""

    allowed_headers: tuple[str, ...]
    max_age_seconds: int

    @cached_property
    def _allowed(self) -> frozenset[str]:
        return frozenset(name.lower() for name in self.allowed_headers)

    def preflight_headers(
        self,
        origin: str | None,
        requested_method: str | None,
        requested_headers: str | None,
        route_methods: Iterable[str],
        is_listed: Callable[[str], bool],
    ) -> dict[str, str]:
        """The headers of a passing preflight (Fetch standard, "CORS protocol").

        `origin`, `requested_method` and `requested_headers` are the request's Origin,
        Access-Control-Request-Method and Access-Control-Request-Headers (None when absent);
        `route_methods` the methods of the path asked for (none for an unknown path). It
        passes when the origin is listed, the method is a token (any: the real request then
        gets its own 404 or 405) and every header named is allowed; the answer names the
        route's methods but OPTIONS, and the one asked for. Raises PreflightRefused otherwise.
        """
        if origin is None:
            raise PreflightRefused("no_origin")
        if not is_listed(origin):
            raise PreflightRefused("origin_not_listed")
        if requested_method is None or not _METHOD.fullmatch(requested_method):
            raise PreflightRefused("no_request_method")
        asked = (name.strip().lower() for name in (requested_headers or "").split(","))
        refused = next((name for name in asked if name and name not in self._allowed), None)
        if refused is not None:
            raise PreflightRefused(f"header_not_allowed:{refused}", HEADERS_SETTING)
        methods = [method for method in route_methods if method != "OPTIONS"]
        answer = {
            "Access-Control-Allow-Methods": ", ".join(dict.fromkeys([*methods, requested_method])),
            "Access-Control-Max-Age": str(self.max_age_seconds),
        }
        if self.allowed_headers:
            answer["Access-Control-Allow-Headers"] = ", ".join(self.allowed_headers)
        return answer
