"""CORS (the Fetch standard): which preflights pass, and the headers a listed origin gets."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from factsvc.errors import CrossOriginRefused

ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, X-Request-ID"
PREFLIGHT_MAX_AGE_SECONDS = 600


def allow_origin_headers(origin: str) -> dict[str, str]:
    """The headers that let a listed `origin` read an answer, cookies included."""
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def preflight_headers(
    origin: str | None,
    requested_method: str,
    route_methods: Iterable[str],
    is_listed: Callable[[str], bool],
) -> dict[str, str]:
    """The headers of a passing preflight (an OPTIONS request; Fetch standard, "CORS protocol").

    It passes when `origin` (the Origin header) is listed and `requested_method` (the
    Access-Control-Request-Method header, "" when absent) is one of the route's methods other
    than OPTIONS; the answer names those methods. Raises CrossOriginRefused otherwise.
    """
    allowed = [method for method in route_methods if method != "OPTIONS"]
    if origin is None or not is_listed(origin) or requested_method not in allowed:
        raise CrossOriginRefused(f"preflight from {origin} for {requested_method}")
    return {
        "Access-Control-Allow-Methods": ", ".join(allowed),
        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
    }
