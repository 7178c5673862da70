"""Avatars: a user's avatar replaced by a thumbnail of an upload, removed, and served."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from factsvc.errors import (
    DependencyUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Overloaded,
)
from factsvc.services import user_snapshot
from factsvc.services.account_store import AccountStore, AvatarSwap
from factsvc.services.audit import security_event
from factsvc.services.avatar_image import THUMBNAIL_MEDIA_TYPE, ImageRefused, make_thumbnail
from factsvc.services.avatar_store import AvatarFile, AvatarStore
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.sessions import Session, SessionService
from factsvc.services.users import User, now_utc

T = TypeVar("T")
log = logging.getLogger(__name__)


class ImageRunner(Protocol):
    """Where images are decoded: executors.BoundedExecutor, off the event loop; Overloaded when
    its queue is full."""

    async def run(self, function: Callable[..., T], *args: object) -> T: ...


@dataclass(frozen=True)
class AvatarRules:
    """An upload may declare at most `max_pixels` (width x height); the stored avatar is a
    `size` x `size` WebP; each user may upload `uploads_per_user` times per its window."""

    max_pixels: int
    size: int
    uploads_per_user: Limit


class AvatarService:
    """The avatar use cases over the account store, the avatar files and the sessions."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        files: AvatarStore,
        sessions: SessionService,
        limiter: RateLimiter,
        images: ImageRunner,
        rules: AvatarRules,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self._accounts = accounts
        self._files = files
        self._sessions = sessions
        self._limiter = limiter
        self._images = images
        self._rules = rules
        self._clock = clock

    async def admit_upload(self, token: str | None) -> None:
        """Before an upload's body is read: the session must be live, and the upload is counted
        against its user's limit. Raises NotAuthenticated, RateLimited or
        DependencyUnavailable."""
        session = await self._require_session(token)
        await self._limiter.count((self._rules.uploads_per_user, session.user_id))

    async def replace(self, token: str | None, path: str, media_type: str) -> User:
        """Make a thumbnail of the image at `path` (declared as `media_type`) the session's
        user's avatar, and delete the one it replaces; the user as it now is. The thumbnail is
        made by the image runner (avatar_image.make_thumbnail). Raises NotAuthenticated,
        InvalidInput ({"body": reason}: not an image of that type, too many pixels, truncated),
        Overloaded (no place to decode in time, or the worker died) or DependencyUnavailable.
        Whatever fails after the new file is stored removes it, unless the account may already
        name it."""
        session = await self._require_session(token)
        thumbnail = functools.partial(
            make_thumbnail,
            path,
            media_type,
            max_pixels=self._rules.max_pixels,
            size=self._rules.size,
        )
        try:
            data = await self._images.run(thumbnail)
        except ImageRefused as refused:
            raise InvalidInput({"body": refused.reason}) from None
        except BrokenExecutor as broken:
            # A worker died (this image or one decoded beside it): the next run gets a new one.
            log.warning("an image worker died decoding an upload of user %s", session.user_id)
            raise Overloaded("avatar") from broken
        avatar_id = await self._files.put(session.user_id, data, THUMBNAIL_MEDIA_TYPE)
        try:
            swap = await self._accounts.set_avatar(session.user_id, avatar_id, self._clock())
        except BaseException:
            await self._undo_put(session.user_id, avatar_id)
            raise
        if swap is None:
            await self._files.delete(avatar_id)
            await self._sessions.destroy(session)
            raise NotAuthenticated()
        await self._settle(session, swap)
        security_event("avatar_replaced", user=session.user_id, avatar=avatar_id)
        return swap.user

    async def delete(self, token: str | None) -> User:
        """Remove the session's user's avatar (none is no error); the user as it now is.
        Raises NotAuthenticated or DependencyUnavailable."""
        session = await self._require_session(token)
        swap = await self._accounts.set_avatar(session.user_id, None, self._clock())
        if swap is None:
            await self._sessions.destroy(session)
            raise NotAuthenticated()
        await self._settle(session, swap)
        return swap.user

    async def file(self, avatar_id: str) -> AvatarFile:
        """The avatar `avatar_id`; NotFound for an unknown or malformed id, and
        DependencyUnavailable."""
        found = await self._files.open(avatar_id)
        if found is None:
            raise NotFound(avatar_id)
        return found

    async def _require_session(self, token: str | None) -> Session:
        session = await self._sessions.resolve(token)
        if session is None:
            raise NotAuthenticated()
        return session

    async def _undo_put(self, user_id: str, avatar_id: str) -> None:
        """After the account's write failed: remove the new file unless the write applied
        after all (an answer lost). When even that cannot be read, the file stays: a file the
        account names must never be deleted, and one it does not name is still its user's,
        removed with the account (AvatarStore.delete_owned_by)."""
        try:
            stored = await self._accounts.find_by_id(user_id)
            if stored is None or stored.user.avatar_id != avatar_id:
                await self._files.delete(avatar_id)
        except DependencyUnavailable:
            log.warning(
                "avatar %s of user %s kept: its account could not be read", avatar_id, user_id
            )

    async def _settle(self, session: Session, swap: AvatarSwap) -> None:
        """After the account's write: delete the replaced file and refresh the session's copy
        of the user. Neither failing undoes the change, which is made: a replaced file left
        behind is still its user's, removed with the account."""
        if swap.previous is not None and swap.previous != swap.user.avatar_id:
            try:
                await self._files.delete(swap.previous)
            except DependencyUnavailable:
                log.warning("replaced avatar %s of user %s left", swap.previous, session.user_id)
        with contextlib.suppress(DependencyUnavailable):
            # Only read while MongoDB is down; the next edit or login refreshes it.
            await self._sessions.refresh_snapshot(session, user_snapshot.to_record(swap.user))
