"""A registration retried after an answer that could not say whether it took effect."""

from __future__ import annotations

import hashlib

from factsvc.errors import Duplicate, RateLimited
from factsvc.services.account_store import AccountStore
from factsvc.services.audit import security_event
from factsvc.services.idempotency import UnknownOutcomes
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.users import User


class RegistrationRecovery:
    """When an insert fails in a way that leaves its effect unknown (MongoDB timed out: the
    document may be stored), that insert is remembered by its username and its password hash
    (UnknownOutcomes, for REGISTER_UNKNOWN_OUTCOME_SECONDS). A retry that then meets the taken
    name is answered with the stored account only when that account is the one the insert
    carried (bcrypt's salt makes each hash unique) and the retry's password verifies against
    it, as the first attempt would have been answered. Anything else stays a plain Duplicate: a
    name that another registration took (a timed-out attempt at someone else's name never
    makes their account answer to a password), a repeat of an answered registration, another
    password, or an account whose failed guesses reached the per-account login limit, which
    these checks count against, as failed logins do. The retry may meet either of its taken
    values first (the username or the address the first attempt stored): the account is looked
    up by its username either way, and a refusal repeats the Duplicate the insert met."""

    def __init__(
        self,
        *,
        store: AccountStore,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        per_account: Limit,
        unknown: UnknownOutcomes,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._limiter = limiter
        self._per_account = per_account
        self._unknown = unknown

    async def remember(self, username: str, password_hash: str) -> None:
        """Note that the insert of `username` (normalized) with `password_hash` may or may not
        have been stored."""
        await self._unknown.remember(_subject(username, password_hash))

    async def earlier_attempt(
        self, username: str, password: str, refused: Duplicate | None = None
    ) -> User:
        """The account an unanswered attempt stored for `username` with `password`; else the
        insert's Duplicate `refused` (default: the username's) (see the class). Raises
        Overloaded or DependencyUnavailable too."""
        taken = refused or Duplicate("username")
        stored = await self._store.find_by_username(username)
        if stored is None or not await self._unknown.recalls(
            _subject(username, stored.password_hash)
        ):
            raise taken
        try:
            async with self._limiter.guess((self._per_account, username)) as guess:
                async with self._hasher.admitted():
                    verified = await self._hasher.verify(password, stored.password_hash)
                if not verified:
                    security_event("login_failed", username=username, reason="registration_retry")
                    await guess.failed()
                    raise taken
        except RateLimited:
            raise taken from None
        return stored.user


def _subject(username: str, password_hash: str) -> str:
    digest = hashlib.sha256(password_hash.encode()).hexdigest()
    return f"register:{username}:{digest}"
