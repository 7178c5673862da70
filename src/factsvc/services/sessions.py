"""Server-side sessions: random tokens (session_tokens.py), stored under their hash, with idle
and absolute limits, each tied to the version of the credential it was opened with."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from factsvc.services.session_store import Fence as Fence
from factsvc.services.session_store import SessionStore as SessionStore
from factsvc.services.session_tokens import RANDOM_LENGTH as RANDOM_LENGTH
from factsvc.services.session_tokens import TAG_LENGTH as TAG_LENGTH
from factsvc.services.session_tokens import TOKEN_BYTES as TOKEN_BYTES
from factsvc.services.session_tokens import TOKEN_LENGTH as TOKEN_LENGTH
from factsvc.services.session_tokens import TOKEN_PATTERN as TOKEN_PATTERN
from factsvc.services.session_tokens import TOKEN_SHAPE as TOKEN_SHAPE
from factsvc.services.session_tokens import new_token as new_token
from factsvc.services.session_tokens import session_key as session_key
from factsvc.services.session_tokens import user_tag as user_tag


@dataclass(frozen=True)
class OpenedBy:
    """What opened a session: the client address the login came from, and the short form of
    its User-Agent (services/user_agents.py); None for either when it is not known."""

    client: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    created_at: float
    # The user as of login or the last edit in this session, for when MongoDB cannot answer:
    # a record of services/user_snapshot.py, carried here as is ({} when there is none).
    user_snapshot: Mapping[str, Any]
    # The account's credential version (services/account_store.py) read with the password hash
    # this session was opened with; 0 for sessions saved before versions existed.
    credential_version: int = 0
    # Where and with what it was opened; OpenedBy() for sessions saved before it was kept.
    opened_by: OpenedBy = OpenedBy()
    # When a request last ran in it, to the minute (USE_RECORDED_EVERY); created_at for
    # sessions saved before it was kept.
    last_used_at: float = 0.0

    @property
    def key(self) -> str:
        return session_key(self.token)


class CredentialsReplaced(Exception):
    """A session was not opened: its credential was replaced (or is being replaced)."""

    def __init__(self, fence: Fence) -> None:
        super().__init__(f"credential versions below {fence.version} are refused")
        self.fence = fence


# A session's last use is written back at most this often (seconds): every request reads its
# session, and writing each read back would turn every request into a Redis write (and an
# append to its log and its replicas); a minute is as precise as a list of sessions needs.
USE_RECORDED_EVERY = 60.0


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        *,
        idle_seconds: int,
        absolute_seconds: int,
        change_seconds: float = 3.0,
        max_per_user: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`change_seconds`: how long a password change may take to store its new hash once it
        has retired the old credential (its MongoDB write's timeout, with room to spare).
        `max_per_user`: the most live sessions a user keeps (0: no bound); a login beyond it
        ends the user's sessions nearest to their end (SessionStore.save)."""
        self._store = store
        self._idle = idle_seconds
        self._absolute = absolute_seconds
        self._max_per_user = max_per_user
        self._change_ms = max(math.ceil(change_seconds * 1000), 1)
        self._clock = clock

    @property
    def change_seconds(self) -> int:
        """How long, in whole seconds, a credential's retirement refuses logins with the old
        credential (retire_credential) while its change may still be storing."""
        return math.ceil(self._change_ms / 1000)

    def now(self) -> float:
        """The sessions' clock, in seconds: what create's started_at is measured on."""
        return self._clock()

    async def create(
        self,
        user_id: str,
        user_snapshot: Mapping[str, Any],
        credential_version: int = 0,
        started_at: float | None = None,
        opened_by: OpenedBy | None = None,
    ) -> Session:
        """A new session for the user, opened with credential_version (by `opened_by`, when
        known); its absolute lifetime counts from started_at (now() taken before the
        credential was read) when given. Raises CredentialsReplaced when that version has been
        retired (retire_credential)."""
        created_at = self._clock() if started_at is None else started_at
        session = Session(
            token=new_token(user_id),
            user_id=user_id,
            created_at=created_at,
            user_snapshot=dict(user_snapshot),
            credential_version=credential_version,
            opened_by=opened_by or OpenedBy(),
            # Not the moment of the save: a login's own hashing would show as a later use.
            last_used_at=created_at,
        )
        ttl = min(self._idle, self._remaining(session.created_at))
        fence = await self._store.save(
            session.key,
            session.user_id,
            _record(session),
            ttl,
            self._absolute,
            credential_version,
            max_sessions=self._max_per_user,
        )
        if fence is not None:
            raise CredentialsReplaced(fence)
        return session

    def _remaining(self, created_at: float) -> int:
        return int(created_at + self._absolute - self._clock())

    async def resolve(self, token: str | None) -> Session | None:
        """The live session for a token; None for a malformed, unknown or expired one."""
        if token is None or not TOKEN_SHAPE.fullmatch(token):
            return None
        key = session_key(token)
        record = await self._store.load(key, self._idle)
        session = None if record is None else from_record(token, record)
        if record is None or session is None:
            return None
        remaining = self._remaining(session.created_at)
        if remaining <= 0:
            await self._store.delete(key, session.user_id)
            return None
        if remaining < self._idle:
            await self._store.expire(key, remaining)
        now = self._clock()
        if now - session.last_used_at >= USE_RECORDED_EVERY:
            # Lost to a concurrent write of the record (a snapshot's refresh, or another
            # request's use), which keeps the time of a use as recent.
            await self._store.replace_if(key, record, {**record, "last_used_at": now})
            session = replace(session, last_used_at=now)
        return session

    async def destroy(self, session: Session) -> None:
        await self._store.delete(session.key, session.user_id)

    async def end(self, tokens: Iterable[str]) -> list[Session]:
        """End the live session of each token (a token given twice, once); the sessions ended,
        in the order given. Malformed, unknown and expired tokens end nothing."""
        ended = []
        for token in dict.fromkeys(tokens):
            session = await self.resolve(token)
            if session is not None:
                await self.destroy(session)
                ended.append(session)
        return ended

    async def retire_credential(self, user_id: str, replaced_version: int) -> None:
        """Before a password change stores its new hash: end every session of the user and
        refuse, from now on, any session of replaced_version or older, including those of
        logins that verified the old hash before this call and save after it. The refusal
        lasts longer than any session opened before the change could live (its absolute
        lifetime counts from before its credential was read), plus the change's own time."""
        await self._store.retire_credentials(
            user_id,
            replaced_version + 1,
            self._absolute + self.change_seconds,
            self._change_ms,
        )

    async def of_user(self, user_id: str) -> dict[str, Session]:
        """The user's live sessions by key (Session.key), their tokens unknown (""); unreadable
        records are left out. Their idle timers run on."""
        found = {
            key: from_record("", record)
            for key, record in (await self._store.sessions_of(user_id)).items()
        }
        return {
            key: session
            for key, session in found.items()
            if session is not None and session.user_id == user_id
        }

    async def end_by_key(self, key: str, user_id: str) -> bool:
        """End the user's session of key `key`; whether it was live."""
        return await self._store.delete(key, user_id)

    async def end_others(self, session: Session) -> int:
        """End every session of the session's user but itself; how many were live."""
        return await self._store.delete_others(session.user_id, session.key)

    async def refresh_snapshot(self, session: Session, user_snapshot: Mapping[str, Any]) -> None:
        """Keep the session's copy of the user current, unless the session ended meanwhile."""
        updated = replace(session, user_snapshot=user_snapshot)
        await self._store.replace(session.key, _record(updated))


def _record(session: Session) -> dict[str, Any]:
    return {
        "user_id": session.user_id,
        "created_at": session.created_at,
        "user": dict(session.user_snapshot),
        "credential_version": session.credential_version,
        "client": session.opened_by.client,
        "user_agent": session.opened_by.user_agent,
        "last_used_at": session.last_used_at,
    }


def from_record(token: str, record: Mapping[str, Any]) -> Session | None:
    """The session a stored record describes, with `token` ("" when the caller knows only its
    key); None when the record lacks its user or creation time. Records saved before a field
    was kept read as that field's default (last_used_at: created_at)."""
    try:
        user_id = str(record["user_id"])
        created_at = float(record["created_at"])
        credential_version = int(record.get("credential_version", 0))
    except (KeyError, TypeError, ValueError):
        return None
    used = record.get("last_used_at")
    # A bool is an int to Python, never a time here.
    last_used_at = (
        float(used) if isinstance(used, int | float) and not isinstance(used, bool) else created_at
    )
    # An unreadable copy of the user is no copy, never a reason to end the session.
    snapshot = record.get("user")
    snapshot = dict(snapshot) if isinstance(snapshot, Mapping) else {}
    return Session(
        token,
        user_id,
        created_at,
        snapshot,
        credential_version,
        opened_by=OpenedBy(
            _text_or_none(record.get("client")), _text_or_none(record.get("user_agent"))
        ),
        last_used_at=last_used_at,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
