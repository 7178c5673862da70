"""The port through which the avatar service keeps avatar files, each with its owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# An avatar's id: a MongoDB ObjectId in lowercase hex, as GET /avatars/{id} takes it.
AVATAR_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class AvatarFile:
    """A stored avatar: its bytes and their media type ("image/webp")."""

    data: bytes
    media_type: str


class AvatarStore(Protocol):
    """Avatar files, each owned by one user (a user id) and named by an id that the store
    gives out (AVATAR_ID's shape), never reused. Every method raises DependencyUnavailable
    when the store cannot be reached."""

    async def put(self, owner: str, data: bytes, media_type: str) -> str:
        """Store `data` as a new file of `owner`; its id. Nothing is left of a put that
        raised, as far as the store could still be reached to remove it."""
        ...

    async def open(self, avatar_id: str) -> AvatarFile | None:
        """The file `avatar_id`; None when there is none (a malformed id, a file deleted,
        or one being deleted)."""
        ...

    async def delete(self, avatar_id: str) -> None:
        """Remove the file `avatar_id`; nothing for an id with no file (idempotent)."""
        ...

    async def delete_owned_by(self, owner: str) -> None:
        """Remove every file of `owner` (idempotent): what an account's deletion calls."""
        ...
