"""BaseHandler: Tornado's hooks for every route, each handing its job to a small module."""

from __future__ import annotations

import logging
import traceback
from asyncio import Future
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import Any

import orjson
from tornado.iostream import StreamClosedError
from tornado.web import HTTPError, RequestHandler, stream_request_body

from factsvc.errors import DependencyUnavailable, FactsvcError, NotFound
from factsvc.handlers.cors import allow_origin_headers, is_preflight, refusal_fields
from factsvc.handlers.envelope import (
    JSON_CONTENT_TYPE,
    accepts_gzip,
    envelope_bytes,
    gzip_compressed,
    worth_compressing,
)
from factsvc.handlers.error_map import HEADERS_BY_STATUS, error_answer
from factsvc.handlers.header_values import declares_more_than
from factsvc.handlers.http_caching import NO_STORE
from factsvc.handlers.json_body import is_json_media_type, parse_json_object
from factsvc.inflight import InFlightRequests
from factsvc.request_context import current_request_id, request_id_for
from factsvc.services.audit import security_event

log = logging.getLogger(__name__)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


@stream_request_body
class BaseHandler(RequestHandler):
    """Bodies are streamed so that a too-large one is refused with a JSON 413 as soon as its
    headers arrive, and never buffered whole; it also keeps Tornado from parsing form and
    multipart bodies, which no endpoint accepts.

    Every route that serves GET serves HEAD too, with the same status and headers and no body
    (RFC 9110 §9.3.2): Tornado drops the body of a HEAD answer and keeps its Content-Length."""

    _counted = False
    _request_id: str | None = None
    _body: bytearray | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get" in cls.__dict__ and "head" not in cls.__dict__:
            cls.head = cls.get

    @property
    def request_id(self) -> str:
        """The incoming X-Request-ID when well formed, else a new one; fixed once chosen."""
        if self._request_id is None:
            self._request_id = request_id_for(self.header("X-Request-ID"))
        return self._request_id

    def header(self, name: str) -> str | None:
        """A request header, or None. `headers.get()` raises and catches a KeyError for every
        absent header, and a cached /fact looks up three that are usually absent; the hooks
        below test `in` themselves for the same reason, without this call."""
        headers = self.request.headers
        return headers[name] if name in headers else None  # noqa: SIM401 - see above

    def prepare(self) -> None:
        current_request_id.set(self.request_id)
        in_flight: InFlightRequests | None = self.application.settings.get("in_flight")
        if in_flight is not None:
            in_flight.started()
            self._counted = True
        self._body = bytearray()
        headers = self.request.headers
        if "Content-Length" in headers and declares_more_than(
            headers["Content-Length"], self.max_body_bytes()
        ):
            raise HTTPError(413)

    def max_body_bytes(self) -> int:
        """The largest body this request may have (HTTP_MAX_BODY_BYTES); larger ones get 413."""
        limit: int = self.application.settings["max_request_body"]
        return limit

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._finished or self._body is None:
            return None  # already answered (413): the rest is read and dropped by Tornado
        if len(self._body) + len(chunk) > self.max_body_bytes():
            self._body = None
            self.send_error(413)
            return None
        self._body.extend(chunk)
        return None

    def on_finish(self) -> None:
        self._count_finished()

    def on_connection_close(self) -> None:
        """The client went away. Before its body arrived whole, Tornado will neither run the
        method nor call on_finish (tornadoweb/tornado#2711), and leaves `_execute` waiting for
        the body for good: end that wait (Tornado returns quietly on StreamClosedError), drop
        the partial body and count the request finished. A request whose method runs is
        counted when it finishes, so that a stop still lets its work complete."""
        body_arrived: Future[None] | None = getattr(self.request, "_body_future", None)
        if body_arrived is not None and not body_arrived.done():
            self._body = None
            body_arrived.set_exception(StreamClosedError())
            body_arrived.exception()  # a handler that answered early (413) no longer awaits it
            self._count_finished()

    def _count_finished(self) -> None:
        if self._counted:
            self._counted = False
            self.application.settings["in_flight"].finished()

    def set_known_header(self, name: str, value: str) -> None:
        """set_header for a value valid by construction (a constant, a request id of
        ACCEPTED_REQUEST_ID's shape, an entity-tag built from n), written to Tornado's headers
        (`_headers`) without set_header's type check and scan for forbidden characters: on a
        cached /fact the five such headers cost 23 000 of its 954 000 instructions."""
        self._headers[name] = value

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_known_header("X-Request-ID", self.request_id)
        self.set_known_header("Content-Type", JSON_CONTENT_TYPE)
        self.set_known_header("X-Content-Type-Options", "nosniff")
        # Vary names what the answer depends on, so that caches key on it: Origin once CORS
        # origins are listed, Accept-Encoding for bodies that may be compressed (send_body). An
        # answer that depends on neither carries none: each header costs every request nearly
        # 2 % of a bare Tornado handler's work (measured).
        if self.settings["trusted_origins"]:
            self.set_header("Vary", "Origin")
        headers = self.request.headers
        if "Origin" in headers and self.origin_is_listed(origin := headers["Origin"]):
            for name, value in allow_origin_headers(origin).items():
                self.set_header(name, value)

    def origin_is_listed(self, origin: str) -> bool:
        """In CORS_ORIGINS: Tornado's own trusted-origin rule, before any handler widens it."""
        return RequestHandler.check_trusted_origin(self, origin)

    def _origin_matches_host(self, origin: str) -> bool:
        # Tornado's cross_origin_protection urlsplits the Origin, which raises ValueError on
        # some malformed ones ("http://[::1"): a 500 with a logged traceback, on any route, for
        # any client. An origin no URL parser takes matches no host, so the request goes on to
        # check_trusted_origin and is refused (403) unless trusted.
        try:
            return super()._origin_matches_host(origin)
        except ValueError:
            return False

    async def options(self, *args: str) -> None:
        """A CORS preflight, judged by the CorsPolicy: 204, or 403 code 5."""
        allowed = self.settings["cors"].preflight_headers(
            self.header("Origin"),
            self.header("Access-Control-Request-Method"),
            self.header("Access-Control-Request-Headers"),
            self._allowed_methods(),
            self.origin_is_listed,
        )
        for name, value in allowed.items():
            self.set_header(name, value)
        self.set_status(204)
        await self.finish()

    def compute_etag(self) -> str | None:
        # Tornado would hash every body, big factorials included; clients gain nothing from it.
        return None

    async def write_envelope(
        self, payload: Mapping[str, Any], status: int = 200, *, compress: bool | None = None
    ) -> None:
        """Finish with `payload` in the envelope; `compress` as send_body's."""
        if self._finished:
            return  # already answered: a chunked body outgrew the limit (413) mid-request
        self.set_status(status)
        body = envelope_bytes(payload)
        if not (worth_compressing(len(body)) if compress is None else compress):
            self.finish(body)  # most answers: nothing to compress, no coroutine to await
        else:
            await self.send_body(body, compress=True)

    async def send_body(self, body: bytes, *, compress: bool | None = None) -> None:
        """Finish with `body`, gzip-compressed when the client accepts it and `compress` allows
        it (None: when its size is worth_compressing). An answer that may be compressed varies
        with Accept-Encoding (vary_with_accept_encoding)."""
        if worth_compressing(len(body)) if compress is None else compress:
            self.vary_with_accept_encoding()
            if accepts_gzip(self.header("Accept-Encoding")):
                body = await gzip_compressed(body)
                self.set_header("Content-Encoding", "gzip")
        # Not awaited: waiting for the bytes to reach the socket would cost every request one
        # more turn of the event loop, and Tornado already treats a client that hung up before
        # its answer as no error.
        self.finish(body)

    def vary_with_accept_encoding(self) -> None:
        """Vary: Accept-Encoding (beside Origin once CORS origins are listed), for an answer
        whose body may go gzip-compressed, and for a 304 that stands for one: the rule that
        decides it must give the same answer for both (RFC 9110 §15.4.5)."""
        origins = self.settings["trusted_origins"]
        self.set_header("Vary", "Origin, Accept-Encoding" if origins else "Accept-Encoding")

    def json_body(self) -> dict[str, object]:
        """The request body as a JSON object (json_body.parse_json_object's rules); 415 for
        another media type, InvalidInput (400) for a body that breaks a rule."""
        if not is_json_media_type(self.header("Content-Type")):
            raise HTTPError(415)
        return parse_json_object(bytes(self._body or b""))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info: ExcInfo | None = kwargs.get("exc_info")
        answer = error_answer(status_code, exc_info[1] if exc_info else None)
        body = answer.body
        body["request_id"] = self.request_id
        if self.settings.get("debug_detail") and exc_info and answer.status >= 500:
            body["detail"] = traceback.format_exception(*exc_info)[-1].strip()
        if answer.cross_origin_refusal:
            self._log_cross_origin_refusal(exc_info[1] if exc_info else None)
        self.set_status(answer.status)
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        # An error holds for this request only: no cache may answer another with it.
        self.set_header("Cache-Control", NO_STORE)
        for name, value in {**HEADERS_BY_STATUS.get(answer.status, {}), **answer.headers}.items():
            self.set_header(name, value)
        if answer.status == 405:
            self.set_header("Allow", ", ".join(self._allowed_methods()))
        body_arrived: Future[None] | None = getattr(self.request, "_body_future", None)
        if body_arrived is not None and not body_arrived.done():
            # Answered before the body was read whole (from prepare, or a 413 mid-body):
            # Tornado then closes the connection rather than read on, but tells the client so
            # only if asked here, and a client that reused it would get a reset (RFC 9112 §9.6).
            self.set_header("Connection", "close")
        self.finish(orjson.dumps(body))

    def _log_cross_origin_refusal(self, error: BaseException | None) -> None:
        origin = self.header("Origin")
        security_event(
            "cross_origin_refused",
            origin="-" if origin is None else origin,
            path=self.request.path,
            **refusal_fields(error, origin),
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


class NotFoundHandler(BaseHandler):
    """Answers every unknown path, whatever the method, with the 404 envelope."""

    def prepare(self) -> None:
        super().prepare()
        # A preflight is judged here as on every route: a listed origin's passes, so that the
        # page then reads the real request's JSON 404 rather than a bare "Failed to fetch";
        # any other is refused (403) and logged.
        if not is_preflight(
            self.request.method,
            self.header("Origin"),
            self.header("Access-Control-Request-Method"),
        ):
            raise NotFound(self.request.path)
