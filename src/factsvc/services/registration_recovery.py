"""A registration retried after an answer that could not say whether it took effect."""

from __future__ import annotations

from factsvc.errors import Duplicate, RateLimited
from factsvc.services.account_store import AccountStore
from factsvc.services.idempotency import UnknownOutcomes
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.users import User


class RegistrationRecovery:
    """When an insert fails in a way that leaves its effect unknown (MongoDB timed out: the
    document may be stored), the username is remembered (UnknownOutcomes, for
    REGISTER_UNKNOWN_OUTCOME_SECONDS). A retry that then meets the taken name with the password
    the stored account was made with is answered with that account, as the first attempt
    would have been. Anything else stays a plain Duplicate: a name taken with another
    password, a name with no unknown outcome (a repeat of a registration that was answered),
    or an account whose failed guesses reached the per-account login limit, which these checks
    count against, as failed logins do."""

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

    async def remember(self, username: str) -> None:
        """Note that a registration of `username` (normalized) may or may not have been stored."""
        await self._unknown.remember(_subject(username))

    async def earlier_attempt(self, username: str, password: str) -> User:
        """The account an unanswered attempt stored for `username` with `password`; Duplicate
        when there is none (see the class). Raises Overloaded or DependencyUnavailable too."""
        if not await self._unknown.recalls(_subject(username)):
            raise Duplicate("username")
        stored = await self._store.find_by_username(username)
        if stored is None:
            raise Duplicate("username")
        try:
            await self._limiter.attempt((self._per_account, username))
        except RateLimited:
            raise Duplicate("username") from None
        async with self._hasher.admitted():
            verified = await self._hasher.verify(password, stored.password_hash)
        if not verified:
            raise Duplicate("username")
        await self._limiter.refund(self._per_account, username)
        return stored.user


def _subject(username: str) -> str:
    return "register:" + username
