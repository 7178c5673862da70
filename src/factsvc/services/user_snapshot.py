"""The copy of a user a session keeps, as a versioned record for the session store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from factsvc.services.avatar_store import AVATAR_ID
from factsvc.services.users import User, iso_utc

VERSION = 1
TEXT_FIELDS = ("id", "username", "nickname", "gender")
# Before versioned records, a session kept the user's public API shape; such sessions live at
# most the absolute session lifetime after a deploy, and can be read until then.
LEGACY_TIMES = ("create_time", "update_time")
# Added within version 1: a record without it (written before avatars) holds no avatar, and a
# reader that predates it ignores it.
AVATAR = "avatar"
# Added within version 1 likewise: a record without them holds no address.
EMAIL, EMAIL_VERIFIED = "email", "email_verified"


def to_record(user: User) -> dict[str, object]:
    """`user` as a JSON-ready record: {"v": 1, "id", "username", "nickname", "gender",
    "created", "updated", "avatar", "email", "email_verified"}, the two times as ISO 8601 UTC
    strings with milliseconds, the avatar's id or None, the address or None, a bool."""
    return {
        "v": VERSION,
        **{name: getattr(user, name) for name in TEXT_FIELDS},
        "created": iso_utc(user.create_time),
        "updated": iso_utc(user.update_time),
        AVATAR: user.avatar_id,
        EMAIL: user.email,
        EMAIL_VERIFIED: user.email_verified,
    }


def from_record(record: object) -> User | None:
    """The user a record holds; None for an unknown version or a malformed record, which
    callers treat as no copy at all (the user is then read from the account store)."""
    if not isinstance(record, Mapping):
        return None
    version = record.get("v")
    if type(version) is int and version == VERSION:
        times = ("created", "updated")
    elif "v" not in record:
        times = LEGACY_TIMES
    else:
        return None
    texts = [record.get(name) for name in TEXT_FIELDS]
    moments = [_moment(record.get(name)) for name in times]
    if not all(isinstance(text, str) for text in texts) or None in moments:
        return None
    avatar = record.get(AVATAR)
    if avatar is not None and not (isinstance(avatar, str) and AVATAR_ID.fullmatch(avatar)):
        return None
    email, verified = record.get(EMAIL), record.get(EMAIL_VERIFIED, False)
    if not (email is None or isinstance(email, str)) or not isinstance(verified, bool):
        return None
    user_id, username, nickname, gender = (str(text) for text in texts)
    created, updated = (moment for moment in moments if moment is not None)
    return User(user_id, username, nickname, gender, created, updated, avatar, email, verified)


def _moment(value: object) -> datetime | None:
    """An ISO 8601 time with its offset; None for anything else (naive times included)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
