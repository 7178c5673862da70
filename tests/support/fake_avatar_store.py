"""The AvatarStore port in memory; tests/contract proves it against MongoAvatarStore."""

from __future__ import annotations

from factsvc.errors import DependencyUnavailable
from factsvc.services.avatar_store import AvatarFile, new_avatar_id


class FakeAvatarStore:
    """Files by id, with their owners; `available = False` makes every call fail as an outage,
    `fail_puts` only the puts."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, AvatarFile]] = {}
        self.available = True
        self.fail_puts = False

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"mongodb": "unavailable"})

    def owned_by(self, owner: str) -> set[str]:
        """The ids of `owner`'s files."""
        return {avatar_id for avatar_id, (who, _) in self.files.items() if who == owner}

    async def put(self, owner: str, data: bytes, media_type: str) -> str:
        self._check()
        if self.fail_puts:
            raise DependencyUnavailable({"mongodb": "unavailable"})
        avatar_id = new_avatar_id()
        self.files[avatar_id] = (owner, AvatarFile(data, media_type))
        return avatar_id

    async def open(self, avatar_id: str) -> AvatarFile | None:
        self._check()
        entry = self.files.get(avatar_id)
        return None if entry is None else entry[1]

    async def delete(self, avatar_id: str) -> None:
        self._check()
        self.files.pop(avatar_id, None)

    async def delete_owned_by(self, owner: str) -> None:
        self._check()
        for avatar_id in self.owned_by(owner):
            del self.files[avatar_id]
