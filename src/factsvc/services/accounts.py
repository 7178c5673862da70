"""Accounts: registration, login, the current user, logout and edits."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from factsvc.errors import (
    DependencyUnavailable,
    Duplicate,
    InvalidInput,
    NotAuthenticated,
)
from factsvc.services import user_snapshot
from factsvc.services.account_edit_body import AccountEditBody
from factsvc.services.account_store import AccountStore
from factsvc.services.audit import security_event
from factsvc.services.bodies import PasswordPolicy, RegisterBody
from factsvc.services.body_reasons import parse
from factsvc.services.email_verification import EmailVerificationService
from factsvc.services.idempotency import Forgetful, UnknownOutcomes
from factsvc.services.limits import AttemptLimits, RateLimiter
from factsvc.services.logins import LoginResult, Logins
from factsvc.services.passwords import PasswordHasher
from factsvc.services.reauthentication import require_current_password
from factsvc.services.registration_recovery import RegistrationRecovery
from factsvc.services.sessions import CredentialsReplaced, OpenedBy, Session, SessionService
from factsvc.services.user_agents import short_form
from factsvc.services.users import NewAccount, StoredAccount, User, now_utc


@dataclass(frozen=True)
class EditResult:
    """The edited user, and the rotated session's token when the password changed."""

    user: User
    new_token: str | None


class AccountService:
    """The account use cases over an AccountStore, sessions, rate limits and bcrypt. Bodies
    arrive as parsed JSON objects and are validated here through their models (bodies.py)."""

    def __init__(
        self,
        *,
        store: AccountStore,
        hasher: PasswordHasher,
        sessions: SessionService,
        limiter: RateLimiter,
        limits: AttemptLimits,
        common_passwords: Collection[str],
        clock: Callable[[], datetime] = now_utc,
        unknown_outcomes: UnknownOutcomes | None = None,
        email_verification: EmailVerificationService | None = None,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._limiter = limiter
        self._limits = limits
        self._common = common_passwords
        self._clock = clock
        self._verification = email_verification
        self._logins = Logins(
            store=store,
            hasher=hasher,
            sessions=sessions,
            limiter=limiter,
            limits=limits,
            clock=clock,
        )
        self._recovery = RegistrationRecovery(
            store=store,
            hasher=hasher,
            limiter=limiter,
            per_account=limits.per_account,
            unknown=unknown_outcomes or Forgetful(),
        )

    async def register(self, body: Mapping[str, object], client: str) -> User:
        """A new account from a RegisterBody mapping, or the one an earlier attempt whose
        outcome was unknown stored (RegistrationRecovery); raises InvalidInput, RateLimited,
        Overloaded, Duplicate (a taken username or address) or DependencyUnavailable."""
        new = parse(RegisterBody, body, PasswordPolicy(self._common))
        async with self._hasher.admitted():
            await self._limiter.count((self._limits.registrations_per_client, client))
            # Hashed before the uniqueness check: a taken name costs as long as a free one.
            password_hash = await self._hasher.hash(new.password)
        account = NewAccount(
            new.username, new.nickname, new.gender, password_hash, self._clock(), new.email
        )
        try:
            user = await self._store.insert(account)
        except DependencyUnavailable:
            await self._recovery.remember(new.username, password_hash)
            raise
        except Duplicate as taken:
            user = await self._recovery.earlier_attempt(new.username, new.password, taken)
            security_event("registration_recovered", user=user.id, client=client)
        else:
            security_event("registered", user=user.id, client=client)
        if user.email is not None:
            self._address_changed(user)
        return user

    def _address_changed(
        self, user: User, *, counted: bool = False, previous: User | None = None
    ) -> None:
        """Mail a verification link to a new address, or void the one of a removed address;
        tell the `previous` address, when verified, of its change."""
        if self._verification is not None:
            self._verification.address_changed(user, counted=counted, previous=previous)

    async def _check_old_password(self, stored: StoredAccount, old_password: str) -> None:
        await require_current_password(
            old_password,
            stored,
            hasher=self._hasher,
            limiter=self._limiter,
            per_account=self._limits.per_account,
            refused_event="password_change_refused",
        )

    async def _count_address_change(self, user_id: str) -> None:
        """Before a new address is written: RateLimited beyond the user's verification mails."""
        if self._verification is not None:
            await self._verification.count_address_change(user_id)

    async def login(
        self,
        body: Mapping[str, object],
        client: str,
        *,
        presented: Iterable[str] = (),
        user_agent: str | None = None,
    ) -> LoginResult:
        """A new session for a LoginBody mapping's credentials, ending every session whose
        token the request `presented` (logins.py). Raises InvalidInput, RateLimited,
        Overloaded, BadCredentials or DependencyUnavailable."""
        return await self._logins.login(body, client, presented=presented, user_agent=user_agent)

    async def _require_session(self, token: str | None) -> Session:
        session = await self._sessions.resolve(token)
        if session is None:
            raise NotAuthenticated()
        return session

    async def _require_account(self, session: Session) -> StoredAccount:
        stored = await self._store.find_by_id(session.user_id)
        if stored is None:
            await self._sessions.destroy(session)
            raise NotAuthenticated()
        return stored

    async def current_user(self, token: str | None) -> User | None:
        """The logged-in user, or None. Without MongoDB, the user as of login."""
        session = await self._sessions.resolve(token)
        if session is None:
            return None
        try:
            stored = await self._store.find_by_id(session.user_id)
        except DependencyUnavailable:
            return user_snapshot.from_record(session.user_snapshot)
        return stored.user if stored else None

    async def info(self, token: str | None) -> User:
        session = await self._require_session(token)
        return (await self._require_account(session)).user

    async def logout(self, presented: Iterable[str]) -> None:
        """End every session whose token the request presented (its bearer's and each of its
        cookies'); raises NotAuthenticated when none of them was live."""
        ended = await self._sessions.end(presented)
        if not ended:
            raise NotAuthenticated()
        for session in ended:
            security_event("logout", user=session.user_id)

    async def edit(
        self,
        token: str | None,
        body: Mapping[str, object],
        *,
        client: str | None = None,
        user_agent: str | None = None,
    ) -> EditResult:
        """Apply an AccountEditBody mapping to the session's user. A password change, and a
        change or removal of the address, need the old password (checked whenever given); a
        password change ends every session of the user and returns a new token, of a session
        that keeps `client` and the short form of `user_agent` (the request's). Raises
        NotAuthenticated, InvalidInput, RateLimited (also for a new address beyond the user's
        verification mails), WrongOldPassword, Duplicate (a taken address),
        Overloaded (no place to check the old password in time) or DependencyUnavailable."""
        session = await self._require_session(token)
        stored = await self._require_account(session)
        edit = parse(AccountEditBody, body, PasswordPolicy(self._common, stored.user.username))
        changes = {**edit.profile_changes(), **edit.email_changes(stored.user.email)}
        missing = edit.required_old_password(stored.user.email)
        if missing is not None:
            raise InvalidInput({"old_password": missing})
        old_password = edit.current_password()
        if old_password is not None:
            # Checked first: a session alone (without the password) changes neither the
            # password nor the address a reset would be mailed to (S04).
            await self._check_old_password(stored, old_password)
        if changes.get("email") is not None:
            await self._count_address_change(session.user_id)
        password_change = edit.password_change()
        if password_change is None:
            user = await self._store.update(session.user_id, changes, self._clock())
            if user is None:
                await self._sessions.destroy(session)
                raise NotAuthenticated()
            await self._sessions.refresh_snapshot(session, user_snapshot.to_record(user))
            if "email" in changes:
                self._address_changed(user, counted=True, previous=stored.user)
            return EditResult(user, None)

        _, new_password = password_change
        if changes.get("email") is not None:
            # Refused before the old credential is retired, which would end every session for
            # an edit that changes nothing (the write's own Duplicate is left for a race).
            holder = await self._store.find_by_email(str(changes["email"]))
            if holder is not None and holder.user.id != session.user_id:
                raise Duplicate("email")
        changes["password_hash"] = await self._hasher.hash(new_password)
        # The old credential is retired before the hash changes: every session ends, and no
        # login that verified the old hash opens one later (_open_session). Should the write
        # fail, the password is unchanged and the user logs in again; it never changes with
        # old sessions alive.
        version = stored.credential_version
        await self._sessions.retire_credential(session.user_id, version)
        user = await self._store.replace_credential(
            session.user_id, changes, self._clock(), expected_version=version
        )
        if user is None:
            raise NotAuthenticated()
        if "email" in changes:
            self._address_changed(user, counted=True, previous=stored.user)
        try:
            opened_by = OpenedBy(client, short_form(user_agent))
            rotated = await self._sessions.create(
                user.id, user_snapshot.to_record(user), version + 1, opened_by=opened_by
            )
        except CredentialsReplaced:
            # A later change retired this password already: no session comes from it.
            raise NotAuthenticated() from None
        security_event("password_changed", user=user.id)
        return EditResult(user, rotated.token)
