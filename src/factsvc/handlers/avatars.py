"""The avatar API: PUT and DELETE /account/avatar, the upload spooled under PATH_UPLOAD as it
arrives, and GET /avatars/{id}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from tornado.web import HTTPError

from factsvc.errors import DependencyUnavailable
from factsvc.handlers.accounts import AccountHandler
from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.conditional import not_modified
from factsvc.handlers.header_values import media_type_of
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.handlers.upload_spool import Spool
from factsvc.services.accounts import AccountService
from factsvc.services.avatar_image import ACCEPTED_MEDIA_TYPES
from factsvc.services.avatars import AvatarService
from factsvc.services.idempotency import IdempotencyService

log = logging.getLogger(__name__)

# A new upload gets a new id, so an avatar's bytes never change: any cache may keep them for
# a year without asking again (RFC 8246). Pages of other sites may show them (CORP).
AVATAR_CACHE_CONTROL = "public, max-age=31536000, immutable"
# What makes the bytes inert should a browser open them as a document: no script, no
# plugin, no framing, no sniffing (the answer is an image, never HTML).
AVATAR_HEADERS = {
    "Cache-Control": AVATAR_CACHE_CONTROL,
    "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}
# The slowest upload still read whole (16 KiB/s, 128 kbit/s: a weak mobile uplink), so that
# AVATAR_MAX_BYTES may take longer than HTTP_BODY_TIMEOUT_SECONDS, which is sized for JSON.
MIN_UPLOAD_BYTES_PER_SECOND = 16 << 10


@dataclass(frozen=True)
class UploadPolicy:
    """Bodies of PUT /account/avatar: at most `max_bytes` (AVATAR_MAX_BYTES), spooled in
    `directory` (PATH_UPLOAD); past the limit the connection reads and drops up to
    `discarded_bytes` more after the 413, then closes. `body_timeout_seconds` is
    HTTP_BODY_TIMEOUT_SECONDS (see body_seconds)."""

    max_bytes: int
    directory: Path
    discarded_bytes: int
    body_timeout_seconds: float

    def body_seconds(self, content_length: str | None) -> float:
        """How long an admitted upload's body may take: body_timeout_seconds, or longer for the
        length its Content-Length declares (chunked or unclear: max_bytes) at
        MIN_UPLOAD_BYTES_PER_SECOND. A body still incomplete then is dropped with its
        connection (Tornado's body timeout, counted over the whole body)."""
        length = self.max_bytes
        if content_length is not None and content_length.isascii() and content_length.isdigit():
            digits = content_length.lstrip("0") or "0"
            if len(digits) <= len(str(self.max_bytes)):
                length = min(int(digits), self.max_bytes)
        return max(self.body_timeout_seconds, length / MIN_UPLOAD_BYTES_PER_SECOND)


def upload_media_type(content_type: str | None) -> str:
    """The accepted image media type a Content-Type names (case and parameters aside);
    HTTPError 415 for a missing or other one."""
    media_type, _ = media_type_of(content_type)
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise HTTPError(415)
    return media_type


def spool_failure(error: OSError) -> DependencyUnavailable:
    """What an upload whose spool file could not be made or written (a full or failing disk
    under PATH_UPLOAD) is answered: 503, to retry later; the cause is logged."""
    log.warning("an upload could not be spooled: %s", error)
    return DependencyUnavailable({"upload_spool": "unavailable"})


class AccountAvatarHandler(AccountHandler):
    """PUT: the body, an image, becomes the session's user's avatar; DELETE removes it.
    A PUT is refused before its body is read: 413 when Content-Length is over the limit, 415
    for another media type, 401 without a session, 429 over the upload limit. Its body goes
    to a spool file as it arrives, a chunk at a time, and a body that passes the limit is
    answered 413 at once. The spool file is removed whatever the outcome."""

    _spool: Spool | None = None
    # Set once put() runs: the spool is then put()'s to remove, the client gone or not.
    _spool_taken = False
    _media_type = ""

    def initialize(  # type: ignore[override]
        self,
        accounts: AccountService,
        cookies: CookiePolicy,
        clients: ClientAddressResolver,
        idempotency: IdempotencyService | None,
        avatars: AvatarService,
        uploads: UploadPolicy,
    ) -> None:
        super().initialize(accounts, cookies, clients, idempotency)
        self._avatars = avatars
        self._uploads = uploads

    def _is_upload(self) -> bool:
        return self.request.method == "PUT"

    def max_body_bytes(self) -> int:
        return self._uploads.max_bytes if self._is_upload() else super().max_body_bytes()

    async def prepare(self) -> None:  # type: ignore[override]
        super().prepare()
        if not self._is_upload():
            return
        self._media_type = upload_media_type(self.header("Content-Type"))
        # The server's own cap is HTTP_MAX_BODY_BYTES's; this body may be larger.
        connection = self.request.connection
        connection.set_max_body_size(  # type: ignore[union-attr]
            self._uploads.max_bytes + self._uploads.discarded_bytes
        )
        await self._avatars.admit_upload(self.session_token())
        # Only now, for a session's counted upload: a refused one keeps the short timeout.
        body_seconds = self._uploads.body_seconds(self.header("Content-Length"))
        connection.set_body_timeout(body_seconds)  # type: ignore[union-attr]
        try:
            self._spool = await Spool.create(self._uploads.directory)
        except OSError as error:
            raise spool_failure(error) from error

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if not self._is_upload():
            return super().data_received(chunk)
        spool = self._spool
        if self._finished or spool is None or spool.discarded:
            return None  # already answered: the rest is read and dropped by Tornado
        if spool.size + len(chunk) > self._uploads.max_bytes:
            spool.discard()
            self.send_error(413)
            return None
        # Awaited by Tornado before it reads the next chunk: a slow disk slows the client.
        return self._spooled(spool, chunk)

    async def _spooled(self, spool: Spool, chunk: bytes) -> None:
        try:
            await spool.write(chunk)
        except OSError as error:
            # Raised here, it would reach Tornado, which resets the connection unanswered.
            spool.discard()
            failure = spool_failure(error)
            self.send_error(503, exc_info=(type(failure), failure, None))

    async def put(self) -> None:
        spool = self._spool
        assert spool is not None  # made in prepare(), before the body is read
        if self._finished:
            return  # answered (413) before the body was whole: see delete()
        self._spool_taken = True
        try:
            await self._completed(spool)
            user = await self._avatars.replace(self.session_token(), spool.path, self._media_type)
        finally:
            spool.discard()
        await self.write_envelope({"user": user.public()})

    @staticmethod
    async def _completed(spool: Spool) -> None:
        try:
            await spool.complete()  # the last buffered bytes reach the disk
        except OSError as error:
            raise spool_failure(error) from error

    async def delete(self) -> None:
        if self._finished:
            # Answered (413) before the body was whole: Tornado 6.6 then never calls the
            # method (its connection diverts the rest of the body), and a change of that
            # must not make a refused request delete anything.
            return
        user = await self._avatars.delete(self.session_token())
        await self.write_envelope({"user": user.public()})

    def on_finish(self) -> None:
        self._discard_spool()
        super().on_finish()

    def on_connection_close(self) -> None:
        # A client gone once its body arrived whole leaves put() running on the file: removed
        # under it, the image worker met a missing file (a 500 and an error logged).
        if not self._spool_taken:
            self._discard_spool()
        super().on_connection_close()

    def _discard_spool(self) -> None:
        if self._spool is not None:
            self._spool.discard()


class AvatarFileHandler(BaseHandler):
    """GET (and HEAD) /avatars/{id}: the avatar's bytes, with a strong entity-tag (its id, since
    its bytes never change) and AVATAR_HEADERS; 304 for an If-None-Match that matches it; 404
    JSON for an unknown or malformed id."""

    def initialize(self, avatars: AvatarService) -> None:
        self._avatars = avatars

    async def get(self, avatar_id: str) -> None:
        found = await self._avatars.file(avatar_id)
        entity_tag = f'"{avatar_id}"'
        for name, value in AVATAR_HEADERS.items():
            self.set_header(name, value)
        self.set_header("ETag", entity_tag)
        if not_modified(self.request.headers, entity_tag):
            self.clear_header("Content-Type")
            self.set_status(304)
            self.finish()
            return
        self.set_header("Content-Type", found.media_type)
        self.finish(found.data)
