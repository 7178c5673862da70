"""Password reset by mail against in-memory fakes: forgot, the mailed token, reset."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from factsvc.errors import (
    BadCredentials,
    DependencyUnavailable,
    InvalidInput,
    InvalidToken,
    RateLimited,
)
from factsvc.services.accounts import AccountService
from factsvc.services.background import Background
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.mail_links import MailLinks
from factsvc.services.password_reset import PasswordResetService
from factsvc.services.password_reset_bodies import ONE_OF
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import NewAccount, StoredAccount, now_utc
from tests.support.background import settled
from tests.support.fake_account_tokens import fake_account_tokens
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner, RecordingOutbox
from tests.support.limits import attempt_limits_with

pytestmark = pytest.mark.gen_test

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
CLIENT = "192.0.2.7"
ADDRESS = "Alice@Example.com"
BASE = "https://facts.example"
TTL = 1800
FORGOT_PER_ADDRESS = 3
FORGOT_PER_CLIENT = 6
TOKEN_FAILURES = 4


class World:
    def __init__(
        self,
        *,
        delay_max_seconds: float = 0.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.now = 1_000_000.0
        self.store = FakeAccountStore()
        self.tokens, self.token_store = fake_account_tokens(clock=lambda: self.now)
        self.session_store = FakeSessionStore()
        self.sessions = SessionService(self.session_store, idle_seconds=600, absolute_seconds=3600)
        self.counters = FakeCounterStore()
        self.limiter = RateLimiter(self.counters)
        self.limits = attempt_limits_with(
            per_account=Limit("a", 5, 3600),
            per_client=Limit("c", 50, 900),
            registrations_per_client=Limit("r", 50, 3600),
            forgot_per_address=Limit("fa", FORGOT_PER_ADDRESS, 3600),
            forgot_per_client=Limit("fc", FORGOT_PER_CLIENT, 3600),
            mail_token_failures_per_client=Limit("mt", TOKEN_FAILURES, 900),
        )
        self.hasher = PasswordHasher(InlineRunner(), rounds=4, pepper="")
        self.common = frozenset({"password", "12345678"})
        self.background = Background()
        self.outbox = RecordingOutbox()
        self.reset_service = PasswordResetService(
            store=self.store,
            tokens=self.tokens,
            sessions=self.sessions,
            hasher=self.hasher,
            limiter=self.limiter,
            limits=self.limits,
            common_passwords=self.common,
            background=self.background,
            outbox=self.outbox,
            links=MailLinks(BASE),
            delay_max_seconds=delay_max_seconds,
            sleep=sleep,
        )
        self.accounts = AccountService(
            store=self.store,
            hasher=self.hasher,
            sessions=self.sessions,
            limiter=self.limiter,
            limits=self.limits,
            common_passwords=self.common,
        )

    async def account(
        self, username: str = "alice", email: str | None = ADDRESS, *, verified: bool = True
    ) -> StoredAccount:
        """An account with PASSWORD and `email` (stored in its normalised form)."""
        normalized = None if email is None else email.split("@")[0] + "@example.com"
        hashed = await self.hasher.hash(PASSWORD)
        user = await self.store.insert(
            NewAccount(username, username, "i", hashed, now_utc(), email=normalized)
        )
        if verified and normalized is not None:
            assert await self.store.mark_email_verified(user.id, normalized, 0)
        stored = await self.store.find_by_id(user.id)
        assert stored is not None
        return stored

    async def forgot(self, body: dict[str, object], client: str = CLIENT) -> None:
        await self.reset_service.forgot(body, client)
        await self.settled()

    async def settled(self) -> None:
        """Wait until every background job has ended."""
        await settled(self.background)

    async def mailed_token(self, body: dict[str, object] | None = None) -> str:
        """Ask for a link for ADDRESS (or `body`) and return the token of the mail."""
        await self.forgot(body or {"email": ADDRESS})
        _, message = self.outbox.posted[-1]
        return message.text.split(f"{BASE}/password/reset#token=", 1)[1].split()[0]

    async def reset(self, token: str, password: str = NEW_PASSWORD, client: str = CLIENT) -> None:
        await self.reset_service.reset({"token": token, "password": password}, client)

    async def can_log_in(self, password: str, username: str = "alice") -> bool:
        try:
            await self.accounts.login({"username": username, "password": password}, CLIENT)
        except BadCredentials:
            return False
        return True


async def test_forgot_with_a_verified_address_mails_a_reset_link_to_it() -> None:
    world = World()
    await world.account()
    await world.forgot({"email": "ALICE@example.COM"})
    [(purpose, message)] = world.outbox.posted
    assert purpose == "reset-password"
    assert message.to == "Alice@example.com"
    assert f"{BASE}/password/reset#token=" in message.text
    assert "alice" in message.text
    assert "30 minutes" in message.text


async def test_forgot_by_username_mails_the_accounts_verified_address() -> None:
    world = World()
    await world.account()
    await world.forgot({"username": "ALICE"})
    assert [message.to for _, message in world.outbox.posted] == ["Alice@example.com"]


@pytest.mark.parametrize(
    ("email", "verified", "asked"),
    [
        (ADDRESS, True, {"email": "nobody@example.com"}),
        (ADDRESS, True, {"username": "nobody"}),
        (ADDRESS, False, {"email": ADDRESS}),
        (ADDRESS, False, {"username": "alice"}),
        (None, False, {"username": "alice"}),
    ],
)
async def test_forgot_mails_nothing_without_a_verified_address_and_answers_alike(
    email: str | None, verified: bool, asked: dict[str, object]
) -> None:
    world = World()
    await world.account(email=email, verified=verified)
    await world.reset_service.forgot(asked, CLIENT)
    await world.settled()
    assert world.outbox.posted == []
    assert world.token_store.saved == 0


async def test_forgot_answers_before_the_account_is_looked_up() -> None:
    world = World()
    await world.account()
    release = asyncio.Event()
    find_by_email = world.store.find_by_email

    async def slow_find(email: str) -> StoredAccount | None:
        await release.wait()
        return await find_by_email(email)

    world.store.find_by_email = slow_find  # type: ignore[method-assign]
    await world.reset_service.forgot({"email": ADDRESS}, CLIENT)
    assert world.background.running == 1
    assert world.outbox.posted == []
    release.set()
    await world.settled()
    assert len(world.outbox.posted) == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"body": ONE_OF}),
        ({"email": ADDRESS, "username": "alice"}, {"body": ONE_OF}),
        (
            {"email": "not an address"},
            {"email": "must be an email address such as name@example.com"},
        ),
        ({"email": 5}, {"email": "must be an email address such as name@example.com"}),
        (
            {"username": "a"},
            {"username": "must be 3-20 ASCII letters, digits or '_', starting with a letter"},
        ),
        ({"username": "alice", "extra": 1}, {"extra": "is not an accepted field"}),
    ],
)
async def test_a_malformed_forgot_body_is_refused_field_by_field(
    body: dict[str, object], errors: dict[str, str]
) -> None:
    world = World()
    with pytest.raises(InvalidInput) as refused:
        await world.reset_service.forgot(body, CLIENT)
    assert refused.value.errors == errors
    assert world.background.running == 0


async def test_forgot_is_limited_per_address_in_any_case_and_per_client() -> None:
    world = World()
    await world.account()
    for index in range(FORGOT_PER_ADDRESS):
        await world.forgot({"email": ADDRESS.upper() if index % 2 else ADDRESS}, f"10.0.0.{index}")
    with pytest.raises(RateLimited):
        await world.forgot({"email": ADDRESS.lower()}, "10.0.0.99")
    assert len(world.outbox.posted) == FORGOT_PER_ADDRESS
    # The refused request counted against the client too.
    for index in range(FORGOT_PER_CLIENT - 1):
        await world.forgot({"email": f"other{index}@example.com"}, "10.0.0.99")
    with pytest.raises(RateLimited):
        await world.forgot({"email": "fresh@example.com"}, "10.0.0.99")


async def test_the_mailed_token_sets_the_password_once() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    await world.reset(token)
    assert await world.can_log_in(NEW_PASSWORD)
    assert not await world.can_log_in(PASSWORD)
    with pytest.raises(InvalidToken):
        await world.reset(token, "yet another secret")
    assert await world.can_log_in(NEW_PASSWORD)


async def test_a_reset_ends_every_session_of_the_user() -> None:
    world = World()
    await world.account()
    sessions = [
        (await world.accounts.login({"username": "alice", "password": PASSWORD}, CLIENT)).token
        for _ in range(2)
    ]
    token = await world.mailed_token()
    await world.reset(token)
    for session in sessions:
        assert await world.sessions.resolve(session) is None


async def test_a_reset_clears_the_accounts_failed_logins() -> None:
    world = World()
    await world.account()
    for _ in range(world.limits.per_account.max_hits):
        assert not await world.can_log_in("a wrong guess here")
    with pytest.raises(RateLimited):
        await world.can_log_in(PASSWORD)
    await world.reset(await world.mailed_token())
    assert await world.can_log_in(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "is too common; choose another"),
        ("PassWord", "is too common; choose another"),
        ("alice", "must be 8-128 characters"),
    ],
)
async def test_a_refused_password_leaves_the_token_usable(password: str, reason: str) -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    with pytest.raises(InvalidInput) as refused:
        await world.reset(token, password)
    assert refused.value.errors == {"password": reason}
    await world.reset(token)
    assert await world.can_log_in(NEW_PASSWORD)


async def test_the_username_itself_is_refused_as_a_new_password() -> None:
    world = World()
    await world.account("aliceliddell")
    world.outbox.posted.clear()
    token = await world.mailed_token({"username": "aliceliddell"})
    with pytest.raises(InvalidInput) as refused:
        await world.reset(token, "AliceLiddell")
    assert refused.value.errors == {"password": "is too common; choose another"}


@pytest.mark.parametrize(
    "token",
    ["", "x", "A" * 47, "A" * 43 + "00zz", "A" * 128],
)
async def test_unknown_and_malformed_tokens_are_one_invalid_token(token: str) -> None:
    world = World()
    await world.account()
    with pytest.raises(InvalidToken):
        await world.reset(token)


async def test_a_token_that_is_not_a_string_is_a_bad_field() -> None:
    world = World()
    with pytest.raises(InvalidInput) as refused:
        await world.reset_service.reset({"token": 5, "password": NEW_PASSWORD}, CLIENT)
    assert set(refused.value.errors) == {"token"}


async def test_an_expired_token_is_invalid() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    world.now += TTL
    with pytest.raises(InvalidToken):
        await world.reset(token)
    assert await world.can_log_in(PASSWORD)


async def test_a_newer_request_voids_the_older_token() -> None:
    world = World()
    await world.account()
    older = await world.mailed_token()
    newer = await world.mailed_token()
    with pytest.raises(InvalidToken):
        await world.reset(older)
    await world.reset(newer)


async def test_a_password_change_by_any_route_voids_the_token() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    session = await world.accounts.login({"username": "alice", "password": PASSWORD}, CLIENT)
    await world.accounts.edit(
        session.token, {"old_password": PASSWORD, "password": "changed by edit"}
    )
    with pytest.raises(InvalidToken):
        await world.reset(token)
    assert await world.can_log_in("changed by edit")


async def test_a_changed_or_unverified_address_voids_the_token() -> None:
    for email, verified in (("elsewhere@example.com", True), ("Alice@example.com", False)):
        world = World()
        stored = await world.account()
        token = await world.mailed_token()
        document = world.store.documents[stored.user.id]
        document["user"] = replace(document["user"], email=email, email_verified=verified)
        with pytest.raises(InvalidToken):
            await world.reset(token)


async def test_a_deleted_account_voids_the_token() -> None:
    world = World()
    stored = await world.account()
    token = await world.mailed_token()
    assert await world.store.delete(stored.user.id)
    with pytest.raises(InvalidToken):
        await world.reset(token)


async def test_unusable_tokens_are_limited_per_client() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    for _ in range(TOKEN_FAILURES):
        with pytest.raises(InvalidToken):
            await world.reset("A" * 47)
    with pytest.raises(RateLimited):
        await world.reset(token)
    await world.reset(token, client="198.51.100.1")


async def test_two_resets_racing_with_one_token_set_one_password() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    outcomes = await asyncio.gather(
        world.reset(token, "first new secret"),
        world.reset(token, "second new secret"),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["InvalidToken", "NoneType"]
    winner = "first new secret" if outcomes[0] is None else "second new secret"
    assert await world.can_log_in(winner)


async def test_an_outage_during_a_reset_leaves_the_token_usable() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    world.token_store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.reset(token)
    world.token_store.available = True
    world.store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.reset(token)
    world.store.available = True
    await world.reset(token)
    assert await world.can_log_in(NEW_PASSWORD)


async def test_an_outage_in_the_background_changes_nothing_the_client_sees() -> None:
    world = World()
    await world.account()
    world.token_store.available = False
    await world.forgot({"email": ADDRESS})
    assert world.outbox.posted == []


async def test_forgot_without_its_limits_store_is_unavailable_whoever_is_asked_for() -> None:
    world = World()
    await world.account()
    world.counters.available = False
    for body in ({"email": ADDRESS}, {"email": "nobody@example.com"}):
        with pytest.raises(DependencyUnavailable):
            await world.reset_service.forgot(body, CLIENT)
    assert world.background.running == 0


async def test_a_session_store_outage_during_a_reset_leaves_the_token_usable() -> None:
    world = World()
    await world.account()
    token = await world.mailed_token()
    world.session_store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.reset(token)
    world.session_store.available = True
    assert await world.can_log_in(PASSWORD)
    await world.reset(token)
    assert await world.can_log_in(NEW_PASSWORD)


@pytest.mark.parametrize("failing", ["token store", "counters", "both"])
async def test_an_outage_after_the_new_password_is_written_still_answers_success(
    failing: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Once the conditional write succeeded the token is void by its credential version, so
    # spending it and clearing the failed logins are best effort: a 503 would send the client
    # to retry a token that can no longer work, for a password that is already set.
    world = World()
    await world.account()
    token = await world.mailed_token()
    replace_credential = world.store.replace_credential

    async def then_redis_fails(*args: Any, **kwargs: Any) -> Any:
        user = await replace_credential(*args, **kwargs)
        world.token_store.available = failing == "counters"
        world.counters.available = failing == "token store"
        return user

    world.store.replace_credential = then_redis_fails  # type: ignore[method-assign]
    await world.reset(token)
    world.token_store.available = world.counters.available = True
    assert await world.can_log_in(NEW_PASSWORD)
    assert not await world.can_log_in(PASSWORD)
    with pytest.raises(InvalidToken):
        await world.reset(token, "yet another secret")
    assert token not in caplog.text


async def test_the_forgot_job_starts_after_a_random_delay_within_the_maximum() -> None:
    # The job's work (look-up, token, SMTP) would otherwise run on the loop right after the
    # answer, and the next requests' latency would show whether a verified account matched.
    waits: list[float] = []
    release = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await release.wait()

    world = World(delay_max_seconds=2.0, sleep=held_sleep)
    await world.account()
    looked_up: list[str] = []
    find_by_email = world.store.find_by_email

    async def noting_find(email: str) -> StoredAccount | None:
        looked_up.append(email)
        return await find_by_email(email)

    world.store.find_by_email = noting_find  # type: ignore[method-assign]
    for email in (ADDRESS, "bob@example.com", "carol@example.com"):
        await world.reset_service.forgot({"email": email}, CLIENT)
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(waits) == 3
    assert looked_up == []
    assert all(0 <= wait <= 2.0 for wait in waits)
    assert len(set(waits)) == 3, "the delays are drawn at random"
    release.set()
    await world.settled()
    assert len(looked_up) == 3
    assert len(world.outbox.posted) == 1
