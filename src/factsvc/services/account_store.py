"""The port through which the account service reads and writes accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from factsvc.services.users import NewAccount, StoredAccount, User

# The only fields an update may touch: built from validated values, never from a body. An
# "email" (normalised) is set unverified, and None removes it.
EDITABLE_FIELDS = frozenset({"nickname", "gender", "password_hash", "email"})
Changes = Mapping[str, str | None]


@dataclass(frozen=True)
class AvatarSwap:
    """What setting an avatar did: the user as it now is, and the avatar id it replaced (None
    when it had none), read in the same write, so that the replaced file is the one to delete."""

    user: User
    previous: str | None


class AccountStore(Protocol):
    """Raises Duplicate for a taken username or email address (Duplicate("email"): the same
    email_key, email_address.py) and DependencyUnavailable when unreachable. Each account
    carries a credential version (0 for a new account) read with its hash."""

    async def insert(self, account: NewAccount) -> User: ...

    async def find_by_username(self, username: str) -> StoredAccount | None: ...

    async def find_by_id(self, user_id: str) -> StoredAccount | None: ...

    async def find_by_email(self, email: str) -> StoredAccount | None:
        """The account whose address is `email` (normalised) in any case: the one with its
        email_key; None when there is none."""
        ...

    async def mark_email_verified(self, user_id: str, email: str, credential_version: int) -> bool:
        """Mark the account's address verified in one write that applies only while that
        address is exactly `email` and the credential version is `credential_version` (a
        password change voids what was mailed before it): True when it applied (verified now,
        or already), False when the account is gone, holds another address or none, or has
        another credential version."""
        ...

    async def delete(self, user_id: str, below_version: int | None = None) -> bool:
        """Delete the account in one write: True when this call deleted it; False when there
        was none or, with below_version, when its credential version had reached below_version
        (then it stays as it was). An account's id is never given to another account."""
        ...

    async def update(
        self,
        user_id: str,
        changes: Changes,
        now: datetime,
        expected_hash: str | None = None,
    ) -> User | None:
        """Set allow-listed fields (EDITABLE_FIELDS). None when the user no longer exists or,
        with expected_hash, when the stored hash is no longer that one. A password_hash set
        here is a re-hash of the same password: the credential version stays."""
        ...

    async def replace_credential(
        self, user_id: str, changes: Changes, now: datetime, expected_version: int
    ) -> User | None:
        """A new password: set `changes` (allow-listed, password_hash among them) and raise the
        credential version to expected_version + 1, in one write that applies only while the
        version is expected_version. None when the user no longer exists or the version moved
        on. Raises ValueError for changes without a password_hash or outside the allow-list."""
        ...

    async def advance_credential_version(
        self, user_id: str, password_hash: str, expected_version: int, new_version: int
    ) -> bool:
        """Move the version from expected_version to new_version while the stored hash is
        password_hash, leaving the hash alone, so that a change that read expected_version can
        no longer apply. False (and nothing written) when hash or version differ."""
        ...

    async def set_avatar(
        self, user_id: str, avatar_id: str | None, now: datetime
    ) -> AvatarSwap | None:
        """Set (or with None, remove) the user's avatar id and update_time in one atomic write,
        returning the user and the id it replaced; None when the user does not exist."""
        ...
