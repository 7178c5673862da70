"""Server-side sessions: random tokens, stored under their hash, with idle and absolute limits."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

TOKEN_BYTES = 32
# secrets.token_urlsafe writes unpadded base64url (RFC 4648 §5): 4 characters per 3 bytes,
# rounded up.
TOKEN_LENGTH = math.ceil(TOKEN_BYTES * 4 / 3)
TOKEN_PATTERN = f"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}"
TOKEN_SHAPE = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    created_at: float
    # The user as of login or the last edit in this session, for when MongoDB cannot answer:
    # a record of services/user_snapshot.py, carried here as is ({} when there is none).
    user_snapshot: Mapping[str, Any]

    @property
    def key(self) -> str:
        return session_key(self.token)


def session_key(token: str) -> str:
    """What the store knows a session by: a stolen store dump holds no usable token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class SessionStore(Protocol):
    """Raises DependencyUnavailable when the store cannot be reached."""

    async def save(
        self, key: str, user_id: str, record: Mapping[str, Any], ttl_seconds: int, index_ttl: int
    ) -> None: ...

    async def load(self, key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        """The record, with its idle timer restarted; None when absent or unreadable."""
        ...

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        """Overwrite a record that still exists, keeping its TTL; never recreate one."""
        ...

    async def expire(self, key: str, ttl_seconds: int) -> None: ...

    async def delete(self, key: str, user_id: str) -> None: ...

    async def delete_all_for_user(self, user_id: str) -> None: ...


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        *,
        idle_seconds: int,
        absolute_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._idle = idle_seconds
        self._absolute = absolute_seconds
        self._clock = clock

    async def create(self, user_id: str, user_snapshot: Mapping[str, Any]) -> Session:
        session = Session(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            user_id=user_id,
            created_at=self._clock(),
            user_snapshot=dict(user_snapshot),
        )
        await self._save(session)
        return session

    async def _save(self, session: Session) -> None:
        ttl = min(self._idle, self._remaining(session.created_at))
        await self._store.save(session.key, session.user_id, _record(session), ttl, self._absolute)

    def _remaining(self, created_at: float) -> int:
        return int(created_at + self._absolute - self._clock())

    async def resolve(self, token: str | None) -> Session | None:
        """The live session for a token; None for a malformed, unknown or expired one."""
        if token is None or not TOKEN_SHAPE.fullmatch(token):
            return None
        key = session_key(token)
        record = await self._store.load(key, self._idle)
        if record is None:
            return None
        try:
            user_id = str(record["user_id"])
            created_at = float(record["created_at"])
        except (KeyError, TypeError, ValueError):
            return None
        # An unreadable copy of the user is no copy, never a reason to end the session.
        snapshot = record.get("user")
        snapshot = dict(snapshot) if isinstance(snapshot, Mapping) else {}
        remaining = self._remaining(created_at)
        if remaining <= 0:
            await self._store.delete(key, user_id)
            return None
        if remaining < self._idle:
            await self._store.expire(key, remaining)
        return Session(token, user_id, created_at, snapshot)

    async def destroy(self, session: Session) -> None:
        await self._store.delete(session.key, session.user_id)

    async def end_all(self, user_id: str) -> None:
        await self._store.delete_all_for_user(user_id)

    async def refresh_snapshot(self, session: Session, user_snapshot: Mapping[str, Any]) -> None:
        """Keep the session's copy of the user current, unless the session ended meanwhile."""
        updated = Session(session.token, session.user_id, session.created_at, user_snapshot)
        await self._store.replace(session.key, _record(updated))


def _record(session: Session) -> dict[str, Any]:
    return {
        "user_id": session.user_id,
        "created_at": session.created_at,
        "user": dict(session.user_snapshot),
    }
