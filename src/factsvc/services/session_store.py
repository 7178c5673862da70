"""The port sessions are kept through: records by key, listed per user, behind a credential
fence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Fence:
    """Why a session was not saved: the user's sessions of credential versions below `version`
    are refused; `changing` while the change that raised it may still be storing its password."""

    version: int
    changing: bool


class SessionStore(Protocol):
    """Sessions by key (session_key: the user's tag, a colon, a hash), listed per user. A store
    may keep each user's sessions, index and fence together by the tag: save raises ValueError
    for a key whose tag is not user_tag(user_id). The list of a user's sessions keeps no ended
    session past the next save, sessions_of or delete_others of that user. Raises
    DependencyUnavailable when the store cannot be reached."""

    async def save(
        self,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        index_ttl: int,
        credential_version: int = 0,
        *,
        max_sessions: int = 0,
    ) -> Fence | None:
        """Store the record and list it under the user, unless the user's fence (see
        retire_credentials) is above credential_version: then nothing is stored and the fence
        is returned. With max_sessions (0: no bound), the user's other live sessions that
        would end soonest (least time left) end first, so that the user keeps at most
        max_sessions. Checked and stored in one atomic step."""
        ...

    async def retire_credentials(
        self, user_id: str, version: int, ttl_seconds: int, change_ms: int
    ) -> None:
        """In one atomic step: end every session of the user, raise the user's fence to
        `version` (never lower it) for ttl_seconds, and mark a change as under way for
        change_ms milliseconds."""
        ...

    async def load(self, key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        """The record, with its idle timer restarted; None when absent or unreadable."""
        ...

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        """Overwrite a record that still exists, keeping its TTL; never recreate one."""
        ...

    async def replace_if(
        self, key: str, expected: Mapping[str, Any], record: Mapping[str, Any]
    ) -> bool:
        """Overwrite the record with `record`, keeping its TTL, only while it still equals
        `expected` (as load returned it), in one atomic step; whether it did."""
        ...

    async def expire(self, key: str, ttl_seconds: int) -> None: ...

    async def delete(self, key: str, user_id: str) -> bool:
        """End the session; whether it was live."""
        ...

    async def sessions_of(self, user_id: str) -> dict[str, Mapping[str, Any]]:
        """The user's live sessions: each one's record by its key. Their idle timers run on."""
        ...

    async def delete_others(self, user_id: str, keep: str) -> int:
        """In one atomic step, end every session of the user but the one of key `keep`; how
        many live sessions it ended."""
        ...
