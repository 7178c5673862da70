"""CORS (the Fetch standard): which preflights pass, and the headers a listed origin gets."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cached_property

from factsvc.config import Settings
from factsvc.config.declaring import variable_of
from factsvc.errors import CrossOriginRefused
from factsvc.http_grammar import TOKEN
from factsvc.services.audit import CUT_MARK

# The response headers a page may read beyond the CORS-safelisted ones: the request id for a
# report, the delay of a 429 or 503, the scheme a 401 asks for and the methods a 405 offers.
EXPOSED_HEADERS = "X-Request-ID, Retry-After, WWW-Authenticate, Allow"
ORIGINS_SETTING = variable_of(Settings.model_fields["cors_origins"])
HEADERS_SETTING = variable_of(Settings.model_fields["cors_allowed_headers"])
# A refusal that no setting could turn into a pass names this as its setting.
NO_SETTING = "-"
# The longest method a preflight may ask for: the registered ones are at most 17 characters
# (IANA HTTP Method Registry), and the method is echoed in Access-Control-Allow-Methods.
MAX_METHOD_CHARS = 32
# The longest part of a refused header name that its log line repeats.
MAX_LOGGED_NAME_CHARS = 64


class PreflightRefused(CrossOriginRefused):
    """A refused preflight: `reason` says why in one word (`origin_not_listed`,
    `header_not_allowed:x-foo`: log lines escape spaces), `setting` names the setting that
    decides it, NO_SETTING when none could let it pass."""

    def __init__(self, reason: str, setting: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.setting = setting


def refusal_fields(error: BaseException | None, origin: str | None) -> dict[str, str]:
    """The `setting` and `reason` that a cross-origin refusal's security event names, given
    the request's Origin (None when absent). A refused preflight names its own. Any other
    refusal is Tornado's cross_origin_protection refusing a state change (its algorithm: an
    Origin that is neither the API's nor listed, or a Sec-Fetch-Site other than same-origin
    and none with no Origin at all, which no setting can let pass)."""
    if isinstance(error, PreflightRefused):
        return {"setting": error.setting, "reason": error.reason}
    if origin is None:
        return {"setting": NO_SETTING, "reason": "sec_fetch_site_without_origin"}
    return {"setting": ORIGINS_SETTING, "reason": "origin_not_listed"}


def allow_origin_headers(origin: str) -> dict[str, str]:
    """The headers that let a listed `origin` read an answer (errors included), cookies
    included, and the headers named in EXPOSED_HEADERS."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }


def origin_answer_headers(origin: str | None, listed: Collection[str]) -> dict[str, str]:
    """The CORS headers of an answer written outside any handler (a message the HTTP/1 parser
    refused), the same a handler's answer gets: `Vary: Origin` once origins are `listed`
    (CORS_ORIGINS), and allow_origin_headers when the request's `origin` is one of them."""
    if not listed:
        return {}
    if origin is not None and origin in listed:
        return {"Vary": "Origin", **allow_origin_headers(origin)}
    return {"Vary": "Origin"}


def is_preflight(method: str | None, origin: str | None, requested_method: str | None) -> bool:
    """Whether a request is a CORS preflight (Fetch standard, "CORS-preflight request": an
    OPTIONS with Origin and Access-Control-Request-Method), from any origin."""
    return method == "OPTIONS" and origin is not None and requested_method is not None


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
        passes when the origin is listed, the method is a token (RFC 9110 §9.1) of at most
        MAX_METHOD_CHARS (any: the real request then gets its own 404 or 405) and every header
        named is allowed; the answer names the route's methods but OPTIONS, and the one asked
        for. Raises PreflightRefused otherwise.
        """
        if origin is None:
            raise PreflightRefused("no_origin", NO_SETTING)
        if not is_listed(origin):
            raise PreflightRefused("origin_not_listed", ORIGINS_SETTING)
        if requested_method is None:
            raise PreflightRefused("no_request_method", NO_SETTING)
        if len(requested_method) > MAX_METHOD_CHARS:
            raise PreflightRefused("method_too_long", NO_SETTING)
        if not TOKEN.fullmatch(requested_method):
            raise PreflightRefused("no_request_method", NO_SETTING)
        asked = (name.strip().lower() for name in (requested_headers or "").split(","))
        refused = next((name for name in asked if name and name not in self._allowed), None)
        if refused is not None:
            shown = refused[:MAX_LOGGED_NAME_CHARS]
            shown += CUT_MARK if len(refused) > MAX_LOGGED_NAME_CHARS else ""
            raise PreflightRefused(f"header_not_allowed:{shown}", HEADERS_SETTING)
        methods = [method for method in route_methods if method != "OPTIONS"]
        answer = {
            "Access-Control-Allow-Methods": ", ".join(dict.fromkeys([*methods, requested_method])),
            "Access-Control-Max-Age": str(self.max_age_seconds),
        }
        if self.allowed_headers:
            answer["Access-Control-Allow-Headers"] = ", ".join(self.allowed_headers)
        return answer
