"""The port through which the account service reads and writes accounts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from factsvc.services.users import NewAccount, StoredAccount, User

# The only fields an update may touch: built from validated values, never from a body.
EDITABLE_FIELDS = frozenset({"nickname", "gender", "password_hash"})


class AccountStore(Protocol):
    """Raises Duplicate for a taken username and DependencyUnavailable when unreachable."""

    async def insert(self, account: NewAccount) -> User: ...

    async def find_by_username(self, username: str) -> StoredAccount | None: ...

    async def find_by_id(self, user_id: str) -> StoredAccount | None: ...

    async def update(
        self,
        user_id: str,
        changes: Mapping[str, str],
        now: datetime,
        expected_hash: str | None = None,
    ) -> User | None:
        """Set allow-listed fields (EDITABLE_FIELDS). None when the user no longer exists or,
        with expected_hash, when the stored hash is no longer that one."""
        ...
