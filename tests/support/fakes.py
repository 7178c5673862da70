"""In-memory stand-ins for the factorial service's ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypedDict, TypeVar

from factsvc.errors import CacheUnavailable, DependencyUnavailable, Duplicate
from factsvc.services.account_store import EDITABLE_FIELDS, AvatarSwap, Changes
from factsvc.services.accounts import AccountService
from factsvc.services.background import Background
from factsvc.services.email_address import email_key
from factsvc.services.factorial_math import factorial_decimal
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.mail import MailMessage, Outbox
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import NewAccount, StoredAccount, User
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.limits import attempt_limits_with

T = TypeVar("T")


class FakeCache:
    """The FactorialCache port in memory; tests/contract proves it against RedisFactorialCache."""

    def __init__(self) -> None:
        self.values: dict[int, str] = {}
        self.available = True
        self.gets = 0

    async def get(self, n: int) -> str | None:
        self.gets += 1
        if not self.available:
            raise CacheUnavailable("down")
        return self.values.get(n)

    async def set(self, n: int, decimal: str) -> None:
        if not self.available:
            raise CacheUnavailable("down")
        self.values[n] = decimal


class CountingComputer:
    """Computes for real, counts calls, and can be held until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = asyncio.Event()
        self.release.set()

    async def compute(self, n: int) -> str:
        self.calls.append(n)
        await self.release.wait()
        return factorial_decimal(n)


class InlineRunner:
    """Runs blocking functions on the spot: fine for unit tests at bcrypt's lowest cost."""

    def __init__(self) -> None:
        self.calls = 0

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        yield

    async def run(self, function: Callable[..., T], *args: object) -> T:
        self.calls += 1
        return function(*args)


class AccountDocument(TypedDict):
    """One account as FakeAccountStore keeps it."""

    user: User
    username: str
    password_hash: str
    credential_version: int


class FakeAccountStore:
    """The AccountStore port in memory; tests/contract proves it against MongoAccountStore."""

    def __init__(self) -> None:
        self.documents: dict[str, AccountDocument] = {}
        self.available = True
        self._inserted = 0  # ids count inserts: a deleted account's id is never given again

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"mongodb": "unavailable"})

    async def insert(self, account: NewAccount) -> User:
        self._check()
        if any(d["username"] == account.username for d in self.documents.values()):
            raise Duplicate("username")
        self._check_address_free(account.email, None)
        self._inserted += 1
        user_id = f"{self._inserted:024x}"
        self.documents[user_id] = {
            "user": User(
                user_id,
                account.username,
                account.nickname,
                account.gender,
                account.created,
                account.created,
                email=account.email,
            ),
            "username": account.username,
            "password_hash": account.password_hash,
            "credential_version": 0,
        }
        return self.documents[user_id]["user"]

    async def find_by_username(self, username: str) -> StoredAccount | None:
        self._check()
        await asyncio.sleep(0)  # a real store yields here: concurrent requests interleave
        for document in self.documents.values():
            if document["username"] == username:
                return _stored(document)
        return None

    async def find_by_id(self, user_id: str) -> StoredAccount | None:
        self._check()
        document = self.documents.get(user_id)
        return _stored(document) if document else None

    async def find_by_email(self, email: str) -> StoredAccount | None:
        self._check()
        for document in self.documents.values():
            address = document["user"].email
            if address is not None and email_key(address) == email_key(email):
                return _stored(document)
        return None

    async def mark_email_verified(self, user_id: str, email: str, credential_version: int) -> bool:
        self._check()
        document = self.documents.get(user_id)
        if document is None or (document["user"].email, document["credential_version"]) != (
            email,
            credential_version,
        ):
            return False
        document["user"] = replace(document["user"], email_verified=True)
        return True

    def _check_address_free(self, email: str | None, user_id: str | None) -> None:
        """Duplicate("email") when another account holds `email` in any case."""
        if email is None:
            return
        for other_id, document in self.documents.items():
            address = document["user"].email
            if other_id != user_id and address and email_key(address) == email_key(email):
                raise Duplicate("email")

    async def delete(self, user_id: str, below_version: int | None = None) -> bool:
        self._check()
        document = self.documents.get(user_id)
        if document is None:
            return False
        if below_version is not None and document["credential_version"] >= below_version:
            return False
        del self.documents[user_id]
        return True

    async def update(
        self,
        user_id: str,
        changes: Changes,
        now: datetime,
        expected_hash: str | None = None,
    ) -> User | None:
        _check_editable(changes)
        self._check()
        document = self.documents.get(user_id)
        if document is None:
            return None
        if expected_hash is not None and document["password_hash"] != expected_hash:
            return None
        return self._set(user_id, document, changes, now)

    async def replace_credential(
        self, user_id: str, changes: Changes, now: datetime, expected_version: int
    ) -> User | None:
        _check_editable(changes)
        if "password_hash" not in changes:
            raise ValueError("a new credential needs a password_hash")
        self._check()
        document = self.documents.get(user_id)
        if document is None or document["credential_version"] != expected_version:
            return None
        if "email" in changes:
            self._check_address_free(changes["email"], user_id)
        document["credential_version"] = expected_version + 1
        return self._set(user_id, document, changes, now)

    async def advance_credential_version(
        self, user_id: str, password_hash: str, expected_version: int, new_version: int
    ) -> bool:
        self._check()
        document = self.documents.get(user_id)
        if document is None or (document["password_hash"], document["credential_version"]) != (
            password_hash,
            expected_version,
        ):
            return False
        document["credential_version"] = new_version
        return True

    async def set_avatar(
        self, user_id: str, avatar_id: str | None, now: datetime
    ) -> AvatarSwap | None:
        self._check()
        document = self.documents.get(user_id)
        if document is None:
            return None
        before = document["user"]
        document["user"] = replace(before, avatar_id=avatar_id, update_time=now)
        return AvatarSwap(document["user"], before.avatar_id)

    def _set(
        self, user_id: str, document: AccountDocument, changes: Changes, now: datetime
    ) -> User:
        user = document["user"]
        if "email" in changes:
            self._check_address_free(changes["email"], user_id)
            user = replace(user, email=changes["email"], email_verified=False)
        if changes.get("password_hash"):
            document["password_hash"] = str(changes["password_hash"])
        document["user"] = replace(
            user,
            nickname=str(changes.get("nickname", user.nickname)),
            gender=str(changes.get("gender", user.gender)),
            update_time=now,
        )
        return document["user"]


def _check_editable(changes: Changes) -> None:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if any(value is None for name, value in changes.items() if name != "email"):
        raise ValueError("only an email may be removed (None)")


def _stored(document: AccountDocument) -> StoredAccount:
    return StoredAccount(
        document["user"], document["password_hash"], document["credential_version"]
    )


def fake_account_service() -> AccountService:
    return AccountService(
        store=FakeAccountStore(),
        hasher=PasswordHasher(InlineRunner(), rounds=4, pepper=""),
        sessions=SessionService(FakeSessionStore(), idle_seconds=60, absolute_seconds=60),
        limiter=RateLimiter(FakeCounterStore()),
        limits=attempt_limits_with(
            per_account=Limit("a", 5, 60),
            per_client=Limit("c", 5, 60),
            registrations_per_client=Limit("r", 5, 60),
        ),
        common_passwords=frozenset(),
    )


class _NoTransport:
    async def send(self, message: MailMessage) -> None:
        raise AssertionError("RecordingOutbox sends nothing")


class RecordingOutbox(Outbox):
    """An Outbox that keeps what is posted, as (purpose, message) pairs, and sends nothing."""

    def __init__(self) -> None:
        super().__init__(_NoTransport(), Background(), attempts=1)
        self.posted: list[tuple[str, MailMessage]] = []

    def post(self, message: MailMessage, *, purpose: str) -> None:
        self.posted.append((purpose, message))

    def messages_to(self, address: str, purpose: str | None = None) -> list[MailMessage]:
        """The messages posted to `address` (of `purpose`, if given), oldest first."""
        return [
            message
            for kind, message in self.posted
            if message.to == address and purpose in (None, kind)
        ]
