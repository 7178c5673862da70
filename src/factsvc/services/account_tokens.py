"""Mailed account tokens (email verification, password reset): issued, looked at, spent once,
voided; kept through the AccountTokenStore port under their hash only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeGuard

from factsvc.services.session_tokens import (
    TAG_LENGTH,
    TOKEN_LENGTH,
    TOKEN_SHAPE,
    new_token,
    user_tag,
)
from factsvc.services.session_tokens import session_key as token_key


class TokenPurpose(StrEnum):
    """What a token lets its holder do; a token of one purpose is unknown to the other."""

    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 (a purpose's name, not a password)


@dataclass(frozen=True)
class TokenGrant:
    """What a live token stands for: the user, the address it was mailed to, the account's
    credential version when it was issued, and when (seconds since the epoch). The caller
    compares `email` and `credential_version` with the account: the token is void when either
    no longer matches."""

    user_id: str
    purpose: TokenPurpose
    email: str
    credential_version: int
    issued_at: float


class AccountTokenStore(Protocol):
    """Token records by key (token_key: the user's tag, a colon, the SHA-256 of the token in
    hex), at most one per user and purpose. A store may keep a user's records together by the
    tag: save raises ValueError for a key whose tag is not user_tag(user_id). Records are JSON
    objects, given back equal. Raises DependencyUnavailable when the store cannot be reached."""

    async def save(
        self,
        purpose: TokenPurpose,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
    ) -> None:
        """In one atomic step: store the record under `key` for ttl_seconds (at least 1) and
        make it the user's one record of `purpose`, deleting the user's earlier one."""
        ...

    async def load(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        """The record, or None when absent, expired, deleted or unreadable."""
        ...

    async def take(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        """Delete the record and give it back, in one atomic step: of concurrent calls for one
        key, one gets the record and the others None."""
        ...

    async def void(self, purpose: TokenPurpose, user_id: str) -> None:
        """Delete the user's record of `purpose`, if any."""
        ...


class AccountTokenService:
    """Issues and checks mailed tokens.

    A token is session_tokens.new_token's: secrets.token_urlsafe(32) (256 random bits) then
    the user's 4-hex tag, 47 base64url characters; the store sees only its SHA-256. A token is
    live from issue until the first of: its purpose's TTL (`ttl_seconds`, seconds) has passed
    on `clock`, it is spent, a newer token of the user and purpose is issued, or it is voided.
    Every store failure leaves as DependencyUnavailable."""

    def __init__(
        self,
        store: AccountTokenStore,
        *,
        ttl_seconds: Mapping[TokenPurpose, int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        missing = [purpose for purpose in TokenPurpose if ttl_seconds.get(purpose, 0) < 1]
        if missing:
            raise ValueError(f"a TTL of at least 1 second is needed for {missing}")
        self._store = store
        self._ttl = dict(ttl_seconds)
        self._clock = clock

    def ttl_seconds(self, purpose: TokenPurpose) -> int:
        """How long a token of `purpose` lives from its issue (seconds): for the mail to say."""
        return self._ttl[purpose]

    async def issue(
        self, purpose: TokenPurpose, user_id: str, *, email: str, credential_version: int
    ) -> str:
        """A new token for the user, to mail to `email`; every older token of this user and
        purpose is void from now on."""
        token = new_token(user_id)
        record = {
            "user_id": user_id,
            "email": email,
            "credential_version": credential_version,
            "issued_at": self._clock(),
        }
        await self._store.save(purpose, token_key(token), user_id, record, self._ttl[purpose])
        return token

    async def peek(self, purpose: TokenPurpose, token: object) -> TokenGrant | None:
        """The grant of a live token of `purpose`; None for anything else (not a string,
        malformed, unknown, spent, expired, voided, of the other purpose), alike. Never spends
        it."""
        if not well_formed(token):
            return None
        return self._live(purpose, token, await self._store.load(purpose, token_key(token)))

    async def spend(self, purpose: TokenPurpose, token: object) -> bool:
        """End the token: True for the one call that found it live (single use under any race),
        False for every other call and for anything peek answers None for."""
        if not well_formed(token):
            return False
        record = await self._store.take(purpose, token_key(token))
        return self._live(purpose, token, record) is not None

    async def void(self, purpose: TokenPurpose, user_id: str) -> None:
        """End the user's live token of `purpose`, if any (e.g. the address was removed)."""
        await self._store.void(purpose, user_id)

    def _live(
        self, purpose: TokenPurpose, token: str, record: Mapping[str, Any] | None
    ) -> TokenGrant | None:
        grant = _grant(purpose, record)
        if grant is None or user_tag(grant.user_id) != token[-TAG_LENGTH:]:
            return None
        # The store's TTL ends it too; checked here as well so that a lowered TTL setting
        # shortens tokens already mailed.
        if not self._clock() < grant.issued_at + self._ttl[purpose]:
            return None
        return grant


def well_formed(token: object) -> TypeGuard[str]:
    """Whether `token` has a token's shape (a str of TOKEN_LENGTH base64url characters ending
    in 4 lowercase hex digits); checked before any hashing or look-up."""
    return (
        isinstance(token, str)
        and len(token) == TOKEN_LENGTH
        and TOKEN_SHAPE.fullmatch(token) is not None
    )


def _grant(purpose: TokenPurpose, record: Mapping[str, Any] | None) -> TokenGrant | None:
    """The grant a stored record describes; None unless every field has its type."""
    if record is None:
        return None
    user_id, email = record.get("user_id"), record.get("email")
    version, issued_at = record.get("credential_version"), record.get("issued_at")
    if not (isinstance(user_id, str) and isinstance(email, str)):
        return None
    # bool is an int to Python, not to JSON: a record holding true was not written here.
    if type(version) is not int or isinstance(issued_at, bool):
        return None
    if not (isinstance(issued_at, int | float) and math.isfinite(issued_at)):
        return None
    return TokenGrant(user_id, purpose, email, version, float(issued_at))
