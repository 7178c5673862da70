"""The JSON envelope, and the one place where errors become HTTP statuses and codes."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any

import orjson
from tornado.web import HTTPError, RequestHandler, stream_request_body

from factsvc.errors import (
    BadCredentials,
    CrossOriginRefused,
    DependencyUnavailable,
    Duplicate,
    FactsvcError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Overloaded,
    RateLimited,
    WrongOldPassword,
)
from factsvc.inflight import InFlightRequests
from factsvc.request_context import current_request_id, request_id_for
from factsvc.services.audit import security_event

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, X-Request-ID"
# Bodies from this size are gzip-compressed for clients that accept it: smaller ones gain
# nothing. We compress rather than Tornado's `compress_response` transform, which costs every
# request a few per cent of its CPU (measured) and compresses at level 6 on the event loop.
GZIP_MIN_BYTES = 1024
# From this size gzip runs in a thread (zlib releases the GIL): a 450 KB body compressed on the
# event loop would hold it for ~10 ms even at level 1.
OFFLOOP_GZIP_MIN_BYTES = 32 * 1024

# Envelope codes by HTTP status, kept from the original service so clients can switch on them.
CODE_BY_STATUS = {
    400: 3,
    401: 4,
    403: 5,
    404: 7,
    405: 5,
    409: 8,
    413: 3,
    415: 3,
    429: 9,
    500: 2,
    503: 10,
}
# Domain errors as (HTTP status, envelope code, message).
ERROR_TABLE: dict[type[FactsvcError], tuple[int, int, str]] = {
    InvalidInput: (400, 3, "bad parameter"),
    NotAuthenticated: (401, 4, "not logged in"),
    BadCredentials: (401, 1001, "wrong username or password"),
    WrongOldPassword: (403, 1001, "wrong password"),
    CrossOriginRefused: (403, 5, "cross-origin request refused"),
    NotFound: (404, 7, "not found"),
    Duplicate: (409, 8, "duplicate"),
    RateLimited: (429, 9, "too many requests"),
    DependencyUnavailable: (503, 10, "service unavailable"),
    Overloaded: (503, 10, "server busy"),
}

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


@stream_request_body
class BaseHandler(RequestHandler):
    """Bodies are streamed so that a too-large one is refused with a JSON 413 as soon as its
    headers arrive, and never buffered whole; it also keeps Tornado from parsing form and
    multipart bodies, which no endpoint accepts."""

    _counted = False
    _request_id: str | None = None
    _body: bytearray | None = None

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            self._request_id = request_id_for(self.header("X-Request-ID"))
        return self._request_id

    def header(self, name: str) -> str | None:
        """A request header, or None. `headers.get()` raises and catches a KeyError for every
        absent header, and a cached /fact looks up three that are usually absent."""
        headers = self.request.headers
        return headers[name] if name in headers else None  # noqa: SIM401 - see above

    def prepare(self) -> None:
        current_request_id.set(self.request_id)
        in_flight: InFlightRequests | None = self.application.settings.get("in_flight")
        if in_flight is not None:
            in_flight.started()
            self._counted = True
        self._body = bytearray()
        declared = self.header("Content-Length") or ""
        if declared.isdigit() and int(declared) > self.application.settings["max_request_body"]:
            raise HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        if self._finished or self._body is None:
            return  # already answered (413): the rest is read and dropped by Tornado
        if len(self._body) + len(chunk) > self.application.settings["max_request_body"]:
            self._body = None
            self.send_error(413)
            return
        self._body.extend(chunk)

    def on_finish(self) -> None:
        if self._counted:
            self._counted = False
            self.application.settings["in_flight"].finished()

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("X-Request-ID", self.request_id)
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.set_header("X-Content-Type-Options", "nosniff")
        # Vary names what the answer depends on, so that caches key on it: Origin once CORS
        # origins are listed, Accept-Encoding for bodies worth compressing (send_body). An
        # answer that depends on neither carries none: each header costs every request nearly
        # 2 % of a bare Tornado handler's work (measured).
        if self.settings["trusted_origins"]:
            self.set_header("Vary", "Origin")
        origin = self.header("Origin")
        if origin is not None and self.origin_is_listed(origin):
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")

    def origin_is_listed(self, origin: str) -> bool:
        """In CORS_ORIGINS: Tornado's own trusted-origin rule, before any handler widens it."""
        return RequestHandler.check_trusted_origin(self, origin)

    async def options(self, *args: str) -> None:
        """A CORS preflight: allowed for listed origins, for this route's methods only."""
        origin = self.request.headers.get("Origin")
        method = self.request.headers.get("Access-Control-Request-Method", "")
        allowed = [m for m in self._allowed_methods() if m != "OPTIONS"]
        if origin is None or not self.origin_is_listed(origin) or method not in allowed:
            raise CrossOriginRefused(f"preflight from {origin} for {method}")
        self.set_header("Access-Control-Allow-Methods", ", ".join(allowed))
        self.set_header("Access-Control-Allow-Headers", ALLOWED_REQUEST_HEADERS)
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        await self.finish()

    def compute_etag(self) -> str | None:
        # Tornado would hash every body, big factorials included; clients gain nothing from it.
        return None

    async def write_envelope(self, payload: Mapping[str, Any], status: int = 200) -> None:
        if self._finished:
            return  # already answered: a chunked body outgrew the limit (413) mid-request
        self.set_status(status)
        body = orjson.dumps({"code": 0, "message": "", **payload})
        if len(body) < GZIP_MIN_BYTES:
            self.finish(body)  # most answers: nothing to compress, no coroutine to await
        else:
            await self.send_body(body)

    async def send_body(self, body: bytes) -> None:
        """Finish with `body`, gzip-compressed when the client accepts it and it is worth it."""
        if len(body) >= GZIP_MIN_BYTES:
            origins = self.settings["trusted_origins"]
            self.set_header("Vary", "Origin, Accept-Encoding" if origins else "Accept-Encoding")
            if self._accepts_gzip():
                if len(body) >= OFFLOOP_GZIP_MIN_BYTES:
                    body = await asyncio.get_running_loop().run_in_executor(None, _gzip, body)
                else:
                    body = _gzip(body)
                self.set_header("Content-Encoding", "gzip")
        # Not awaited: waiting for the bytes to reach the socket would cost every request one
        # more turn of the event loop, and Tornado already treats a client that hung up before
        # its answer as no error.
        self.finish(body)

    def json_body(self) -> dict[str, object]:
        """The request body as a JSON object; 415 for another media type, 400 for bad JSON."""
        media_type, _, parameters = (self.header("Content-Type") or "").partition(";")
        charset = parameters.strip().lower().removeprefix("charset=").strip('"')
        if media_type.strip().lower() != "application/json" or charset not in {"", "utf-8"}:
            raise HTTPError(415)
        return parse_json_object(bytes(self._body or b""))

    def _accepts_gzip(self) -> bool:
        return "gzip" in (self.header("Accept-Encoding") or "")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info: ExcInfo | None = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        status, body = self._error_body(status_code, error)
        body["request_id"] = self.request_id
        if self.settings.get("debug_detail") and exc_info and status >= 500:
            body["detail"] = traceback.format_exception(*exc_info)[-1].strip()
        self.set_status(status)
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.finish(orjson.dumps(body))

    def _error_body(self, status: int, error: BaseException | None) -> tuple[int, dict[str, Any]]:
        extra: dict[str, Any] = {}
        if isinstance(error, FactsvcError):
            status, code, message = ERROR_TABLE.get(type(error), (500, 2, "system error"))
            if isinstance(error, InvalidInput):
                extra["errors"] = error.errors
            elif isinstance(error, Duplicate):
                extra["errors"] = {error.field: "is taken"}
            elif isinstance(error, DependencyUnavailable):
                extra["dependencies"] = error.states
            elif isinstance(error, CrossOriginRefused):
                self._log_cross_origin_refusal()
            if isinstance(error, DependencyUnavailable | Overloaded | RateLimited):
                self.set_header("Retry-After", str(error.retry_after_seconds))
            return status, {"code": code, "message": message, **extra}
        if isinstance(error, HTTPError) or (error is None and status < 500):
            if isinstance(error, HTTPError):
                status = error.status_code
            message = _phrase(status)
            if status == 405:
                self.set_header("Allow", ", ".join(self._allowed_methods()))
            if status == 403:
                # Tornado's cross_origin_protection refusing a state change from a foreign origin.
                message = "cross-origin request refused"
                self._log_cross_origin_refusal()
        else:
            status, message = 500, "system error"
        code = CODE_BY_STATUS.get(status, 3 if status < 500 else 2)
        return status, {"code": code, "message": message, **extra}

    def _log_cross_origin_refusal(self) -> None:
        security_event(
            "cross_origin_refused",
            origin=self.request.headers.get("Origin", "-"),
            path=self.request.path,
            client=self.request.remote_ip or "-",
            request_id=self.request_id,
        )

    def _allowed_methods(self) -> list[str]:
        return [
            method
            for method in self.SUPPORTED_METHODS
            if getattr(type(self), method.lower()) is not getattr(RequestHandler, method.lower())
        ]

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, DependencyUnavailable):
            log.warning(
                "%s %s: %s (%r)", self.request.method, self.request.path, value, value.__cause__
            )
            return
        if isinstance(value, FactsvcError | HTTPError):
            log.debug("%s %s: %s", self.request.method, self.request.path, value)
            return
        log.error(
            "unexpected error in %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),  # type: ignore[arg-type]
        )


def parse_json_object(body: bytes) -> dict[str, object]:
    """Strict JSON: UTF-8, an object at the top, no duplicate keys, no NaN or Infinity."""
    try:
        value = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput({"body": "must be a JSON object in UTF-8"}) from None
    if not isinstance(value, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    if not _all_text_encodable(value):
        raise InvalidInput({"body": "must not contain lone surrogates"})
    return value


def _all_text_encodable(value: object) -> bool:
    """False when any key or string holds a lone surrogate (valid JSON, invalid Unicode)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_all_text_encodable(k) and _all_text_encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_text_encodable(item) for item in value)
    return True


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _gzip(body: bytes) -> bytes:
    # Level 1: on 450 KB of digits it takes ~9 ms against ~45 ms at level 6, for the same ratio.
    return gzip.compress(body, compresslevel=1)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


class NotFoundHandler(BaseHandler):
    """Answers every unknown path, whatever the method, with the 404 envelope."""

    def prepare(self) -> None:
        super().prepare()
        raise NotFound(self.request.path)
