"""The sessions a user can see and end: each listed under an id that is not its token, and
ended one at a time, or all but the current one."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from factsvc.errors import NotAuthenticated, NotFound
from factsvc.services.audit import security_event
from factsvc.services.body_reasons import parse
from factsvc.services.revoke_body import SESSION_ID_LENGTH, RevokeSessionsBody
from factsvc.services.sessions import Session, SessionService
from factsvc.services.users import iso_utc

# Hashed with the store's digest of the token, so that an id names neither the token nor the
# store's key of the session.
ID_CONTEXT = b"factsvc session id\x00"


def public_id(key: str) -> str:
    """The id a client sees for the session stored under `key` (session_key: the user's tag, a
    colon, the SHA-256 of the token in hex): the first SESSION_ID_LENGTH hex digits of
    SHA-256(ID_CONTEXT + that digest). The same on every instance and for the session's whole
    life; no use as a token, nor as a store key (both would need SHA-256 undone)."""
    digest = key.rpartition(":")[2]
    return hashlib.sha256(ID_CONTEXT + digest.encode("ascii")).hexdigest()[:SESSION_ID_LENGTH]


@dataclass(frozen=True)
class ListedSession:
    """One of the user's live sessions as the user sees it."""

    id: str
    session: Session
    current: bool

    def public(self) -> dict[str, object]:
        """`id`, `created_at` and `last_used_at` (ISO 8601 UTC with milliseconds), `client`
        (an address) and `user_agent` (a short form), either None when not known, and
        `current`: whether the request runs in it."""
        opened_by = self.session.opened_by
        return {
            "id": self.id,
            "created_at": _iso(self.session.created_at),
            "last_used_at": _iso(self.session.last_used_at),
            "client": opened_by.client,
            "user_agent": opened_by.user_agent,
            "current": self.current,
        }


@dataclass(frozen=True)
class Revoked:
    """How many live sessions a revoke ended, and whether the request's own was one."""

    count: int
    current: bool


class SessionListService:
    """Lists and ends the sessions of the user whose session a request runs in; never another
    user's: ids are looked up among that user's sessions only."""

    def __init__(self, sessions: SessionService) -> None:
        self._sessions = sessions

    async def list(self, token: str | None) -> list[ListedSession]:
        """The user's live sessions, newest created first. Raises NotAuthenticated or
        DependencyUnavailable."""
        current = await self._require_session(token)
        found = await self._sessions.of_user(current.user_id)
        listed = [
            ListedSession(public_id(key), session, key == current.key)
            for key, session in found.items()
        ]
        return sorted(listed, key=lambda item: item.session.created_at, reverse=True)

    async def revoke(self, token: str | None, body: Mapping[str, object]) -> Revoked:
        """End what a RevokeSessionsBody mapping names: the user's session of that `id` (the
        request's own too), or with `all` every session of the user but the request's own.
        Raises NotAuthenticated, InvalidInput, NotFound (no live session of the user has that
        id) or DependencyUnavailable."""
        current = await self._require_session(token)
        wanted = parse(RevokeSessionsBody, body).session_id()
        user_id = current.user_id
        if wanted is None:
            count = await self._sessions.end_others(current)
            security_event("sessions_revoked", user=user_id, count=str(count))
            return Revoked(count, current=False)
        keys = [key for key in await self._sessions.of_user(user_id) if public_id(key) == wanted]
        # Ended by its own expiry or another request since it was listed: gone all the same.
        if not keys or not await self._sessions.end_by_key(keys[0], user_id):
            raise NotFound()
        security_event("session_revoked", user=user_id, session=wanted)
        return Revoked(1, current=keys[0] == current.key)

    async def _require_session(self, token: str | None) -> Session:
        session = await self._sessions.resolve(token)
        if session is None:
            raise NotAuthenticated()
        return session


def _iso(seconds: float) -> str:
    return iso_utc(datetime.fromtimestamp(seconds, UTC))
