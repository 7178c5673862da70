"""Accounts: registration, login, the current user, logout and edits."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from factsvc.errors import (
    BadCredentials,
    DependencyUnavailable,
    NotAuthenticated,
    WrongOldPassword,
)
from factsvc.services import validation
from factsvc.services.audit import security_event
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import Session, SessionService
from factsvc.services.validation import FieldErrors


@dataclass(frozen=True)
class User:
    id: str
    username: str
    nickname: str
    gender: str
    create_time: datetime
    update_time: datetime

    def public(self) -> dict[str, str]:
        """Exactly the fields a client may see."""
        return {
            "id": self.id,
            "username": self.username,
            "nickname": self.nickname,
            "gender": self.gender,
            "create_time": iso_utc(self.create_time),
            "update_time": iso_utc(self.update_time),
        }


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_utc() -> datetime:
    # Millisecond precision: what MongoDB stores, so a response equals a later read.
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class StoredAccount:
    user: User
    password_hash: str


@dataclass(frozen=True)
class NewAccount:
    username: str
    nickname: str
    gender: str
    password_hash: str
    created: datetime


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


@dataclass(frozen=True)
class AttemptLimits:
    """Fixed-window limits on attempts: failed logins per account and per client, and
    registrations per client."""

    per_account: Limit
    per_client: Limit
    registrations_per_client: Limit


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str


@dataclass(frozen=True)
class EditResult:
    user: User
    new_token: str | None


class AccountService:
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
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._limiter = limiter
        self._limits = limits
        self._common = common_passwords
        self._clock = clock

    async def register(self, body: Mapping[str, object], client: str) -> User:
        errors = FieldErrors()
        validation.check_field_names(
            body, errors, required=("username", "password"), optional=("nickname", "gender")
        )
        username = validation.username(body.get("username"), errors)
        password = validation.password(
            body.get("password"), errors, "password", self._common, username
        )
        nickname = validation.nickname(body.get("nickname", username or "x"), errors)
        gender = validation.gender(body.get("gender", "i"), errors)
        errors.raise_if_any()
        # Narrowing only: raise_if_any() has already refused every None.
        assert username is not None
        assert password is not None
        assert nickname is not None
        assert gender is not None
        async with self._hasher.admitted():
            await self._limiter.attempt((self._limits.registrations_per_client, client))
            # Hashed before the uniqueness check: a taken name costs as long as a free one.
            password_hash = await self._hasher.hash(password)
        account = NewAccount(username, nickname, gender, password_hash, self._clock())
        user = await self._store.insert(account)
        security_event("registered", user=user.id, client=client)
        return user

    async def login(
        self, body: Mapping[str, object], client: str, presented_token: str | None
    ) -> LoginResult:
        errors = FieldErrors()
        validation.check_field_names(body, errors, required=("username", "password"))
        raw_username, password = body.get("username"), body.get("password")
        for field, value in (("username", raw_username), ("password", password)):
            if not isinstance(value, str) or not 1 <= len(value) <= 128:
                errors.add(field, "must be a string of 1-128 characters")
            elif not validation.is_encodable(value):
                errors.add(field, "must be valid Unicode text")
        errors.raise_if_any()
        assert isinstance(raw_username, str)
        assert isinstance(password, str)
        async with self._hasher.admitted():
            stored = await self._check_credentials(raw_username.lower(), password, client)
        # Whatever session came with the login is ended: a fixed id never becomes logged in.
        presented = await self._sessions.resolve(presented_token)
        if presented is not None:
            await self._sessions.destroy(presented)
        session = await self._sessions.create(stored.user.id, stored.user.public())
        security_event("login_succeeded", user=stored.user.id, client=client)
        return LoginResult(stored.user, session.token)

    async def _check_credentials(self, username: str, password: str, client: str) -> StoredAccount:
        """The account whose password this is, after the rate limits; BadCredentials if none."""
        await self._limiter.attempt(
            (self._limits.per_account, username), (self._limits.per_client, client)
        )
        stored = await self._store.find_by_username(username)
        if stored is None:
            await self._hasher.spend_equal_time(password)
            verified = False
        else:
            verified = await self._hasher.verify(password, stored.password_hash)
        if stored is None or not verified:
            security_event("login_failed", username=username, client=client)
            raise BadCredentials()

        # Only failures count: the owner's success clears the account, refunds the client.
        await self._limiter.reset(self._limits.per_account, username)
        await self._limiter.refund(self._limits.per_client, client)
        if self._hasher.needs_upgrade(stored.password_hash):
            # Conditional: a password changed meanwhile is never overwritten by the old one.
            await self._store.update(
                stored.user.id,
                {"password_hash": await self._hasher.hash(password)},
                self._clock(),
                expected_hash=stored.password_hash,
            )
        return stored

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
            return _user_from_snapshot(session.user_snapshot)
        return stored.user if stored else None

    async def info(self, token: str | None) -> User:
        session = await self._require_session(token)
        return (await self._require_account(session)).user

    async def logout(self, token: str | None) -> None:
        session = await self._require_session(token)
        await self._sessions.destroy(session)
        security_event("logout", user=session.user_id)

    async def edit(self, token: str | None, body: Mapping[str, object]) -> EditResult:
        session = await self._require_session(token)
        stored = await self._require_account(session)
        changes = self._validated_changes(body, stored.user.username)
        if "password" not in changes:
            user = await self._store.update(session.user_id, changes, self._clock())
            if user is None:
                await self._sessions.destroy(session)
                raise NotAuthenticated()
            await self._sessions.refresh_snapshot(session, user.public())
            return EditResult(user, None)

        account_limit = (self._limits.per_account, stored.user.username)
        await self._limiter.attempt(account_limit)
        if not await self._hasher.verify(changes.pop("old_password"), stored.password_hash):
            security_event("password_change_refused", user=session.user_id)
            raise WrongOldPassword()
        await self._limiter.reset(*account_limit)
        changes["password_hash"] = await self._hasher.hash(changes.pop("password"))
        # Every session ends before the hash changes: should the update fail, the password
        # is unchanged and the user logs in again; it never changes with old sessions alive.
        await self._sessions.end_all(session.user_id)
        user = await self._store.update(
            session.user_id, changes, self._clock(), expected_hash=stored.password_hash
        )
        if user is None:
            raise NotAuthenticated()
        rotated = await self._sessions.create(user.id, user.public())
        security_event("password_changed", user=user.id)
        return EditResult(user, rotated.token)

    def _validated_changes(self, body: Mapping[str, object], username: str) -> dict[str, str]:
        errors = FieldErrors()
        validation.check_field_names(
            body, errors, optional=("nickname", "gender", "password", "old_password")
        )
        changes: dict[str, str | None] = {}
        if "nickname" in body:
            changes["nickname"] = validation.nickname(body["nickname"], errors)
        if "gender" in body:
            changes["gender"] = validation.gender(body["gender"], errors)
        if "password" in body:
            changes["password"] = validation.password(
                body["password"], errors, "password", self._common, username
            )
            old = body.get("old_password")
            if not isinstance(old, str) or not 1 <= len(old) <= 128:
                errors.add("old_password", "is required to change the password")
            elif not validation.is_encodable(old):
                errors.add("old_password", "must be valid Unicode text")
            changes["old_password"] = old if isinstance(old, str) else None
        elif "old_password" in body:
            errors.add("old_password", "is only accepted with a new password")
        if not body:
            errors.add("body", "must change at least one field")
        errors.raise_if_any()
        return {name: value for name, value in changes.items() if value is not None}


def _user_from_snapshot(snapshot: Mapping[str, Any]) -> User | None:
    try:
        return User(
            id=str(snapshot["id"]),
            username=str(snapshot["username"]),
            nickname=str(snapshot["nickname"]),
            gender=str(snapshot["gender"]),
            create_time=datetime.fromisoformat(str(snapshot["create_time"])),
            update_time=datetime.fromisoformat(str(snapshot["update_time"])),
        )
    except (KeyError, ValueError):
        return None
