"""The port through which the avatar service keeps avatar files, each with its owner."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

# Random, not a MongoDB ObjectId: GET /avatars/{id} needs no session, and one process's
# ObjectIds follow each other, so one's own avatar id led to everyone's uploads around it.
AVATAR_ID_BYTES = 16
# An avatar's id: AVATAR_ID_BYTES random bytes in lowercase hex, as GET /avatars/{id} takes it.
AVATAR_ID = re.compile(f"[0-9a-f]{{{2 * AVATAR_ID_BYTES}}}")


def new_avatar_id() -> str:
    """A fresh avatar id: AVATAR_ID_BYTES bytes from `secrets` in lowercase hex (AVATAR_ID)."""
    return secrets.token_hex(AVATAR_ID_BYTES)


@dataclass(frozen=True)
class AvatarFile:
    """A stored avatar: its bytes and their media type ("image/webp")."""

    data: bytes
    media_type: str


class AvatarStore(Protocol):
    """Avatar files, each owned by one user (a user id) and named by an id that the store
    gives out (new_avatar_id), never reused. Every method raises DependencyUnavailable
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
