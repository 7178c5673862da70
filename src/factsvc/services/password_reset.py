"""Password reset by mail: asking for a reset link (forgot) and setting a new password with
its token (reset)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime

from pydantic import MISSING

from factsvc.errors import DependencyUnavailable, InvalidToken
from factsvc.services.account_store import AccountStore
from factsvc.services.account_tokens import AccountTokenService, TokenGrant, TokenPurpose
from factsvc.services.audit import security_event
from factsvc.services.background import Background
from factsvc.services.bodies import PasswordPolicy
from factsvc.services.body_reasons import parse
from factsvc.services.limits import AttemptLimits, RateLimiter
from factsvc.services.mail import Outbox
from factsvc.services.mail_links import MailLinks
from factsvc.services.mail_messages import reset_mail
from factsvc.services.password_reset_bodies import ForgotPasswordBody, ResetPasswordBody
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import StoredAccount, now_utc

PURPOSE = TokenPurpose.RESET_PASSWORD
# What the background job and its mail are named by in log lines: never the address or token.
WHAT = "password reset mail"

log = logging.getLogger(__name__)
# The forgot job's delay: from the operating system's generator, so that no sequence of
# observed delays predicts the next.
_RANDOM = secrets.SystemRandom()


class PasswordResetService:
    """Forgot: counted against the limits, then answered at once; the look-up, the token and
    the mail run in the background, so that neither the answer nor its time says whether an
    account matched. That work starts after a random delay, uniform from 0 to
    `delay_max_seconds` (PASSWORD_FORGOT_DELAY_MAX_SECONDS), drawn from secrets.SystemRandom
    and waited with `sleep`: its load on the event loop, larger when a mail goes out, then
    falls on no predictable later request. Reset: the token's account must still have the
    credential version and the verified address the token was issued for (so any password
    change, and any change of address, voids it); a token that cannot be used counts as a
    failure against the client."""

    def __init__(
        self,
        *,
        store: AccountStore,
        tokens: AccountTokenService,
        sessions: SessionService,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        limits: AttemptLimits,
        common_passwords: Collection[str],
        background: Background,
        outbox: Outbox,
        links: MailLinks,
        delay_max_seconds: float,
        clock: Callable[[], datetime] = now_utc,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._sessions = sessions
        self._hasher = hasher
        self._limiter = limiter
        self._limits = limits
        self._common = common_passwords
        self._background = background
        self._outbox = outbox
        self._links = links
        self._delay_max_seconds = delay_max_seconds
        self._clock = clock
        self._sleep = sleep

    async def forgot(self, body: Mapping[str, object], client: str) -> None:
        """Accept a ForgotPasswordBody mapping: counted per subject (address or username) and
        per client, then the work is left to the background (see the class). Raises
        InvalidInput, RateLimited or DependencyUnavailable (the limits' store), never anything
        that depends on the account."""
        request = parse(ForgotPasswordBody, body)
        await self._limiter.count(
            (self._limits.forgot_per_address, request.subject()),
            (self._limits.forgot_per_client, client),
        )
        self._background.spawn(lambda: self._mail_reset_link(request), what=WHAT)

    async def _mail_reset_link(self, request: ForgotPasswordBody) -> None:
        """Mail a new reset link to the matching account's address, if it has one and it is
        verified; else nothing, after the random delay (see the class). Issuing the token
        voids the account's older ones."""
        if self._delay_max_seconds > 0:
            await self._sleep(_RANDOM.uniform(0, self._delay_max_seconds))
        if request.email is not MISSING:
            stored = await self._store.find_by_email(request.email)
        else:
            assert request.username is not MISSING
            stored = await self._store.find_by_username(request.username)
        user = None if stored is None else stored.user
        if stored is None or user is None or user.email is None or not user.email_verified:
            return
        token = await self._tokens.issue(
            PURPOSE, user.id, email=user.email, credential_version=stored.credential_version
        )
        message = reset_mail(
            user.email,
            username=user.username,
            link=self._links.reset_password(token),
            expires_seconds=self._tokens.ttl_seconds(PURPOSE),
        )
        self._outbox.post(message, purpose=PURPOSE.value)
        security_event("password_reset_mailed", user=user.id)

    async def reset(self, body: Mapping[str, object], client: str) -> None:
        """Set the password of the token's account from a ResetPasswordBody mapping (the usual
        password rules, the account's username among the refused), end every session of the
        user, spend the token and clear the account's failed logins. Raises InvalidInput
        (the token stays usable), InvalidToken (unknown, malformed, used, expired or void:
        alike), RateLimited, Overloaded or DependencyUnavailable (then the password is
        unchanged and the same token can be tried again; once the password is written, an
        outage while spending the token or clearing the failed logins is only logged)."""
        request = parse(ResetPasswordBody, body, PasswordPolicy(self._common))
        async with self._limiter.guess(
            (self._limits.mail_token_failures_per_client, client)
        ) as guess:
            grant = await self._tokens.peek(PURPOSE, request.token)
            stored = None if grant is None else await self._store.find_by_id(grant.user_id)
            if grant is None or stored is None or not _still_valid(grant, stored):
                security_event("password_reset_refused", client=client)
                await guess.failed()
                raise InvalidToken()
        username = stored.user.username
        new = parse(ResetPasswordBody, body, PasswordPolicy(self._common, username))
        async with self._hasher.admitted():
            password_hash = await self._hasher.hash(new.password)
        # As a password change does (AccountService.edit): the old credential is retired
        # first, so that every session ends and no login of the old password opens one later;
        # the write applies only while the version is the token's, so of two resets racing
        # with one token (or a reset racing a change) one alone sets a password.
        version = grant.credential_version
        await self._sessions.retire_credential(stored.user.id, version)
        user = await self._store.replace_credential(
            stored.user.id, {"password_hash": password_hash}, self._clock(), version
        )
        if user is None:
            security_event("password_reset_refused", client=client)
            raise InvalidToken()
        # The password is set and the version moved on, which voids the token already: what
        # follows is best effort, since a 503 now would send the client to retry a token that
        # can no longer work. A token left unspent is void anyway and expires with its TTL; a
        # failure count left uncleared only lapses with its window.
        try:
            await self._tokens.spend(PURPOSE, request.token)
        except DependencyUnavailable:
            log.warning("password reset: the used token was not removed (void by its version)")
        try:
            await self._limiter.clear(self._limits.per_account, username)
        except DependencyUnavailable:
            log.warning("password reset: the account's failed logins were not cleared")
        security_event("password_reset", user=user.id, client=client)


def _still_valid(grant: TokenGrant, stored: StoredAccount) -> bool:
    """Whether the account is as it was when the token was issued: the same credential, and
    the address the link was mailed to, still verified."""
    user = stored.user
    return (
        stored.credential_version == grant.credential_version
        and user.email == grant.email
        and user.email_verified
    )
