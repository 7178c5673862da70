"""Logins: a password checked within the failure limits, and the session it opens."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from factsvc.errors import BadCredentials
from factsvc.services import user_snapshot
from factsvc.services.account_store import AccountStore
from factsvc.services.audit import security_event
from factsvc.services.bodies import LoginBody
from factsvc.services.body_reasons import parse
from factsvc.services.limits import AttemptLimits, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import CredentialsReplaced, OpenedBy, Session, SessionService
from factsvc.services.user_agents import short_form
from factsvc.services.users import StoredAccount, User, now_utc


@dataclass(frozen=True)
class LoginResult:
    """The user who logged in and the new session's token."""

    user: User
    token: str


class Logins:
    """The login of AccountService over an AccountStore, sessions, the failure limits (per
    account and per client) and bcrypt."""

    def __init__(
        self,
        *,
        store: AccountStore,
        hasher: PasswordHasher,
        sessions: SessionService,
        limiter: RateLimiter,
        limits: AttemptLimits,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._limiter = limiter
        self._limits = limits
        self._clock = clock

    async def login(
        self,
        body: Mapping[str, object],
        client: str,
        *,
        presented: Iterable[str] = (),
        user_agent: str | None = None,
    ) -> LoginResult:
        """A new session for a LoginBody mapping's credentials, ending every session whose
        token the request `presented`; the session keeps `client` and the short form of
        `user_agent` (the User-Agent the request sent). Raises InvalidInput, RateLimited,
        Overloaded, BadCredentials or DependencyUnavailable."""
        credentials = parse(LoginBody, body)
        # Taken before the credential is read: see SessionService.retire_credential.
        started_at = self._sessions.now()
        async with self._hasher.admitted():
            stored = await self._check_credentials(
                credentials.username, credentials.password, client
            )
        # Every session that came with the login is ended, not only the one the request would
        # run in: a fixed id never becomes logged in, nor outlives the login beside the new one.
        await self._sessions.end(presented)
        session = await self._open_session(stored, started_at, client, user_agent)
        security_event("login_succeeded", user=stored.user.id, client=client)
        return LoginResult(stored.user, session.token)

    async def _open_session(
        self, stored: StoredAccount, started_at: float, client: str, user_agent: str | None = None
    ) -> Session:
        """A session for an account whose password was just verified. A password change that
        retired that credential meanwhile makes the login fail as a wrong password does. Once
        the change's time is over with the verified hash still stored, the change failed: the
        version is advanced past it, so that its write can never apply, and the session opens."""
        user = stored.user
        snapshot = user_snapshot.to_record(user)
        opened_by = OpenedBy(client, short_form(user_agent))
        try:
            return await self._sessions.create(
                user.id, snapshot, stored.credential_version, started_at, opened_by
            )
        except CredentialsReplaced as refused:
            fence = refused.fence
        if not fence.changing and await self._store.advance_credential_version(
            user.id, stored.password_hash, stored.credential_version, fence.version
        ):
            with contextlib.suppress(CredentialsReplaced):
                return await self._sessions.create(
                    user.id, snapshot, fence.version, started_at, opened_by
                )
        security_event(
            "login_failed", username=user.username, client=client, reason="password_changed"
        )
        raise BadCredentials()

    async def _check_credentials(self, username: str, password: str, client: str) -> StoredAccount:
        """The account whose password this is, judged within the failure limits (a failure
        counts against the account and the client); BadCredentials if none."""
        limits = (self._limits.per_account, username), (self._limits.per_client, client)
        async with self._limiter.guess(*limits) as guess:
            stored = await self._store.find_by_username(username)
            if stored is None:
                await self._hasher.spend_equal_time(password)
                verified = False
            else:
                verified = await self._hasher.verify(password, stored.password_hash)
            if stored is None or not verified:
                security_event("login_failed", username=username, client=client)
                await guess.failed()
                raise BadCredentials()

        # Only failures count: the owner's success clears the account's.
        await self._limiter.clear(self._limits.per_account, username)
        if self._hasher.needs_upgrade(stored.password_hash):
            # Conditional: a password changed meanwhile is never overwritten by the old one.
            await self._store.update(
                stored.user.id,
                {"password_hash": await self._hasher.hash(password)},
                self._clock(),
                expected_hash=stored.password_hash,
            )
        return stored
