"""Re-authentication: a request that changes what guards an account (its password, its
address) or deletes it proves the account's current password first (OWASP ASVS 4.0 V3.7.1;
the checklist's S04)."""

from __future__ import annotations

from factsvc.errors import WrongOldPassword
from factsvc.services.audit import security_event
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.users import StoredAccount


async def require_current_password(
    password: str,
    stored: StoredAccount,
    *,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    per_account: Limit,
    refused_event: str,
) -> None:
    """Return when `password` is `stored`'s current one, checked within (and counted against)
    the per-account failure limit `per_account`, as a login is; a right one clears the
    account's failures. A wrong one logs the security event `refused_event` and raises
    WrongOldPassword; also RateLimited, Overloaded (bcrypt's queue) or DependencyUnavailable."""
    account_limit = (per_account, stored.user.username)
    async with limiter.guess(account_limit) as guess:
        if not await hasher.verify(password, stored.password_hash):
            security_event(refused_event, user=stored.user.id)
            await guess.failed()
            raise WrongOldPassword()
    await limiter.clear(*account_limit)
