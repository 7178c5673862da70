"""The one table from errors to HTTP answers: status, envelope code, message, headers, fields."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import NamedTuple

from tornado.web import HTTPError

from factsvc.errors import (
    BadCredentials,
    CrossOriginRefused,
    DependencyUnavailable,
    Duplicate,
    FactsvcError,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    Overloaded,
    RateLimited,
    WrongOldPassword,
)


class ErrorKind(NamedTuple):
    """What a client is told of an error: HTTP status, envelope code and message."""

    status: int
    code: int
    message: str


# Envelope codes by HTTP status, kept from the original service so clients can switch on them;
# Tornado's own errors (HTTPError, or a bare status such as 405) carry no domain error.
CODE_BY_STATUS: Mapping[int, int] = MappingProxyType(
    {
        400: 3,
        401: 4,
        403: 5,
        404: 7,
        405: 5,
        409: 8,
        413: 3,
        414: 3,
        415: 3,
        422: 3,
        429: 9,
        431: 3,
        500: 2,
        503: 10,
    }
)
# Headers every answer of a status carries, whatever its cause: a 401 names the scheme that
# would authenticate (RFC 9110 §15.5.2, RFC 6750 §3); the cookie is the browser's alternative.
HEADERS_BY_STATUS: Mapping[int, Mapping[str, str]] = MappingProxyType(
    {401: MappingProxyType({"WWW-Authenticate": 'Bearer realm="factsvc"'})}
)
# The original service's code for a wrong password, whichever status carries it.
WRONG_PASSWORD_CODE = 1001
# A mailed link's token that cannot be used, for whatever reason (errors.InvalidToken).
INVALID_TOKEN_CODE = 1002


def _kind(status: int, message: str, code: int | None = None) -> ErrorKind:
    return ErrorKind(status, CODE_BY_STATUS[status] if code is None else code, message)


CROSS_ORIGIN_REFUSAL = _kind(403, "cross-origin request refused")
SYSTEM_ERROR = _kind(500, "system error")

# Domain errors, each with its subclasses unless one of them has a row of its own.
ERROR_TABLE: Mapping[type[FactsvcError], ErrorKind] = MappingProxyType(
    {
        InvalidInput: _kind(400, "bad parameter"),
        NotAuthenticated: _kind(401, "not logged in"),
        BadCredentials: _kind(401, "wrong username or password", WRONG_PASSWORD_CODE),
        WrongOldPassword: _kind(403, "wrong password", WRONG_PASSWORD_CODE),
        CrossOriginRefused: CROSS_ORIGIN_REFUSAL,
        InvalidToken: _kind(400, "invalid or expired link", INVALID_TOKEN_CODE),
        NotFound: _kind(404, "not found"),
        Duplicate: _kind(409, "duplicate"),
        IdempotencyKeyInFlight: _kind(409, "request in progress"),
        IdempotencyKeyReused: _kind(422, "idempotency key reused"),
        RateLimited: _kind(429, "too many requests"),
        DependencyUnavailable: _kind(503, "service unavailable"),
        Overloaded: _kind(503, "server busy"),
    }
)


class ErrorAnswer(NamedTuple):
    """An error's answer: status, body (code, message and the error's own fields), headers.

    `cross_origin_refusal` marks a refused cross-origin request, which is a security event.
    """

    status: int
    body: dict[str, object]
    headers: dict[str, str]
    cross_origin_refusal: bool


def kind_of(error: FactsvcError) -> ErrorKind:
    """The row of the nearest class of `error` in ERROR_TABLE (along its MRO); else a 500."""
    for cls in type(error).__mro__:
        kind = ERROR_TABLE.get(cls)
        if kind is not None:
            return kind
    return SYSTEM_ERROR


def kind_of_status(status: int) -> ErrorKind:
    """A bare HTTP status as an error kind: CODE_BY_STATUS (else 3 below 500, 2 from it), and
    the status's reason phrase (RFC 9110 §15) in lower case. A 403 without a domain error
    comes from Tornado's cross_origin_protection refusing a state change from a foreign origin.
    """
    if status == 403:
        return CROSS_ORIGIN_REFUSAL
    return ErrorKind(status, CODE_BY_STATUS.get(status, 3 if status < 500 else 2), _phrase(status))


def error_answer(status: int, error: BaseException | None) -> ErrorAnswer:
    """The answer for what Tornado hands write_error: the `status` it chose and the exception.

    A domain error answers by its row, with its body fields and, when a retry may succeed,
    its delay in whole seconds twice: the Retry-After header (RFC 9110 §10.2.3) and the body's
    `retry_after`, for page scripts that cannot read the header. Tornado's HTTPError answers
    by its own status; no exception by `status` below 500. Anything else, or a domain error
    with no row, is a bare 500 that tells nothing of its cause. `headers` are the error's
    own; the writer adds its status's HEADERS_BY_STATUS to every answer.
    """
    if isinstance(error, FactsvcError):
        kind = kind_of(error)
        if kind is SYSTEM_ERROR:
            return _bare(SYSTEM_ERROR)
        body = {"code": kind.code, "message": kind.message, **error.body_fields()}
        headers = {}
        if (retry_after := error.retry_after_seconds) is not None:
            body["retry_after"] = retry_after
            headers["Retry-After"] = str(retry_after)
        return ErrorAnswer(kind.status, body, headers, kind is CROSS_ORIGIN_REFUSAL)
    if isinstance(error, HTTPError):
        return _bare(kind_of_status(error.status_code))
    if error is None and status < 500:
        return _bare(kind_of_status(status))
    return _bare(SYSTEM_ERROR)


def _bare(kind: ErrorKind) -> ErrorAnswer:
    return ErrorAnswer(
        kind.status,
        {"code": kind.code, "message": kind.message},
        {},
        kind is CROSS_ORIGIN_REFUSAL,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"
