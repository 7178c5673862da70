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
    # The GridFS file id (24 hex characters) of the user's avatar, or None.
    avatar_id: str | None = None
    # The address in its normalised form (email_address.normalized_email), or None.
    email: str | None = None
    email_verified: bool = False

    def public(self) -> dict[str, str | bool | None]:
        """Exactly the fields a client may see: id, username, nickname, gender, the two
        times as ISO 8601 UTC strings with milliseconds ("2024-05-01T12:00:00.000Z"),
        `avatar_url`, the avatar's path relative to the service's root (avatar_path) or None,
        `email` (or None) and `email_verified`. Shown to the account's owner only."""
        return {
            "id": self.id,
            "username": self.username,
            "nickname": self.nickname,
            "gender": self.gender,
            "create_time": iso_utc(self.create_time),
            "update_time": iso_utc(self.update_time),
            "avatar_url": None if self.avatar_id is None else avatar_path(self.avatar_id),
            "email": self.email,
            "email_verified": self.email_verified,
        }


AVATAR_PATH_PREFIX = "/avatars/"


def avatar_path(avatar_id: str) -> str:
    """The path that serves the avatar `avatar_id` (GET /avatars/{id}): "/avatars/<id>"."""
    return AVATAR_PATH_PREFIX + avatar_id


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
    """An account to insert: a normalized (lower-case) username, an already hashed password
    and, optionally, a normalised email address (unverified)."""

    username: str
    nickname: str
    gender: str
    password_hash: str
    created: datetime
    email: str | None = None
