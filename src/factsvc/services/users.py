"""The user model: an account as stored and as clients see it, and the service's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class User:
    """An account without its secrets; times are timezone-aware UTC, to the millisecond."""

    id: str
    username: str
    nickname: str
    gender: str
    create_time: datetime
    update_time: datetime

    def public(self) -> dict[str, str]:
        """Exactly the fields a client may see: id, username, nickname, gender and the two
        times as ISO 8601 UTC strings with milliseconds ("2024-05-01T12:00:00.000Z")."""
        return {
            "id": self.id,
            "username": self.username,
            "nickname": self.nickname,
            "gender": self.gender,
            "create_time": iso_utc(self.create_time),
            "update_time": iso_utc(self.update_time),
        }


def iso_utc(moment: datetime) -> str:
    """`moment` in UTC as ISO 8601 with milliseconds and a "Z" suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_utc() -> datetime:
    """The current time in UTC, truncated to the millisecond."""
    # Millisecond precision: what MongoDB stores, so a response equals a later read.
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class StoredAccount:
    """A user with the bcrypt hash of their password, as the store holds it, and the version of
    that credential: raised by one with each password change, never by a re-hash."""

    user: User
    password_hash: str
    credential_version: int = 0


@dataclass(frozen=True)
class NewAccount:
    """An account to insert: a normalized (lower-case) username and an already hashed password."""

    username: str
    nickname: str
    gender: str
    password_hash: str
    created: datetime
