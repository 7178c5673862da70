"""Email verification over fakes: the mail after registration and address changes, resends and
their limit, and a token that verifies once, only the address it was mailed to."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

import pytest

from factsvc.errors import (
    DependencyUnavailable,
    Duplicate,
    InvalidInput,
    InvalidToken,
    NotAuthenticated,
    RateLimited,
)
from factsvc.services.account_tokens import AccountTokenService, TokenPurpose
from factsvc.services.accounts import AccountService
from factsvc.services.background import Background
from factsvc.services.email_verification import (
    ALREADY_VERIFIED,
    NO_ADDRESS,
    NOTICE_PURPOSE,
    EmailVerificationService,
)
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.mail import MailMessage
from factsvc.services.mail_links import MailLinks
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import User
from tests.support.background import settled
from tests.support.fake_account_tokens import FakeAccountTokenStore
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner, RecordingOutbox
from tests.support.limits import attempt_limits_with
from tests.support.polling import eventually_async

pytestmark = pytest.mark.gen_test(timeout=10)

PASSWORD = "correct horse battery"
BASE = "https://factsvc.example"
PURPOSE = TokenPurpose.VERIFY_EMAIL.value
CLIENT = "192.0.2.1"
TOKEN_IN_LINK = re.compile(re.escape(BASE) + r"/email/verify#token=([A-Za-z0-9_-]+)")


class World:
    def __init__(self, *, sends: int = 5, failures: int = 20) -> None:
        self.now = 1_000_000.0
        self.store = FakeAccountStore()
        self.token_store = FakeAccountTokenStore(clock=lambda: self.now)
        self.tokens = AccountTokenService(
            self.token_store,
            ttl_seconds={TokenPurpose.VERIFY_EMAIL: 600, TokenPurpose.RESET_PASSWORD: 600},
            clock=lambda: self.now,
        )
        self.sessions = SessionService(FakeSessionStore(), idle_seconds=600, absolute_seconds=3600)
        self.limiter = RateLimiter(FakeCounterStore())
        self.limits = attempt_limits_with(
            per_account=Limit("a", 5, 3600),
            per_client=Limit("c", 5, 900),
            registrations_per_client=Limit("r", 50, 3600),
            mail_token_failures_per_client=Limit("t", failures, 900),
            verification_mails_per_user=Limit("v", sends, 3600),
        )
        self.background = Background()
        self.outbox = RecordingOutbox()
        self.verification = EmailVerificationService(
            store=self.store,
            tokens=self.tokens,
            sessions=self.sessions,
            limiter=self.limiter,
            limits=self.limits,
            background=self.background,
            outbox=self.outbox,
            links=MailLinks(BASE),
        )
        self.accounts = AccountService(
            store=self.store,
            hasher=PasswordHasher(InlineRunner(), rounds=4, pepper=""),
            sessions=self.sessions,
            limiter=self.limiter,
            limits=self.limits,
            common_passwords=frozenset(),
            email_verification=self.verification,
        )

    async def settled(self) -> None:
        """Wait for the background jobs spawned so far."""
        await settled(self.background)

    async def register(self, username: str = "alice", email: str | None = None) -> User:
        body: dict[str, object] = {"username": username, "password": PASSWORD}
        if email is not None:
            body["email"] = email
        user = await self.accounts.register(body, CLIENT)
        await self.settled()
        return user

    async def login(self, username: str = "alice") -> str:
        result = await self.accounts.login({"username": username, "password": PASSWORD}, CLIENT)
        return result.token

    async def edit(self, session: str, body: Mapping[str, object]) -> User:
        result = await self.accounts.edit(session, body)
        await self.settled()
        return result.user

    def mails_to(self, address: str) -> list[MailMessage]:
        return self.outbox.messages_to(address, PURPOSE)

    def token_of(self, message: MailMessage) -> str:
        found = TOKEN_IN_LINK.search(message.text)
        assert found is not None, message.text
        return found.group(1)

    async def verify(self, token: object, client: str = CLIENT) -> None:
        await self.verification.verify({"token": token}, client)

    async def stored(self, user: User) -> User:
        stored = await self.store.find_by_id(user.id)
        assert stored is not None
        return stored.user


async def test_a_registration_with_an_address_mails_it_a_link_that_verifies_it_once() -> None:
    world = World()
    user = await world.register(email="Alice@Example.com")
    [mail] = world.mails_to("Alice@example.com")
    token = world.token_of(mail)
    assert len(token) == 47
    assert "alice" in mail.text
    await world.verify(token)
    assert (await world.stored(user)).email_verified
    with pytest.raises(InvalidToken):
        await world.verify(token)


async def test_a_registration_without_an_address_mails_nothing() -> None:
    world = World()
    await world.register()
    assert world.outbox.posted == []
    assert world.token_store.saved == 0


@pytest.mark.parametrize("token", ["", "x" * 47, "not a token", 7, None, ["a"]])
async def test_what_is_not_a_live_token_is_refused_alike(token: object) -> None:
    world = World()
    await world.register(email="alice@example.com")
    with pytest.raises((InvalidToken, InvalidInput)) as raised:
        await world.verify(token)
    if isinstance(token, str) and token:
        assert isinstance(raised.value, InvalidToken)


async def test_a_changed_address_voids_the_old_link_and_gets_its_own() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    old = world.token_of(world.mails_to("alice@example.com")[0])
    session = await world.login()
    changed = await world.edit(session, {"email": "alice@example.org", "old_password": PASSWORD})
    assert (changed.email, changed.email_verified) == ("alice@example.org", False)
    [mail] = world.mails_to("alice@example.org")
    with pytest.raises(InvalidToken):
        await world.verify(old)
    await world.verify(world.token_of(mail))
    assert (await world.stored(user)).email_verified


async def test_a_token_for_an_address_the_account_no_longer_has_is_refused() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    # The address changes and no new link replaced the old one (as when the mail limit is
    # reached): the token is live, but for another address.
    await world.store.update(user.id, {"email": "alice@example.org"}, user.update_time)
    with pytest.raises(InvalidToken):
        await world.verify(token)
    assert not (await world.stored(user)).email_verified


async def test_setting_the_same_address_again_sends_nothing_and_keeps_it_verified() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    await world.verify(world.token_of(world.mails_to("alice@example.com")[0]))
    session = await world.login()
    again = await world.edit(session, {"email": "ALICE@example.com"})  # no password needed
    assert (again.email, again.email_verified) == ("alice@example.com", True)
    assert len(world.outbox.posted) == 1
    assert (await world.stored(user)).email_verified


async def test_removing_the_address_voids_its_link() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    session = await world.login()
    removed = await world.edit(session, {"email": None, "old_password": PASSWORD})
    assert (removed.email, removed.email_verified) == (None, False)
    assert await world.tokens.peek(TokenPurpose.VERIFY_EMAIL, token) is None
    with pytest.raises(InvalidToken):
        await world.verify(token)
    assert (await world.stored(user)).email is None


async def test_a_password_change_with_a_new_address_mails_it_too() -> None:
    world = World()
    await world.register(email="alice@example.com")
    session = await world.login()
    body = {"email": "new@example.com", "password": "a brand new one", "old_password": PASSWORD}
    await world.edit(session, body)
    [mail] = world.mails_to("new@example.com")
    await world.verify(world.token_of(mail))


async def test_a_password_change_voids_a_verification_link() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    session = await world.login()
    await world.edit(session, {"password": "a brand new one", "old_password": PASSWORD})
    with pytest.raises(InvalidToken):
        await world.verify(token)
    assert not (await world.stored(user)).email_verified


async def test_a_resend_mails_a_new_link_and_voids_the_older() -> None:
    world = World()
    await world.register(email="alice@example.com")
    first = world.token_of(world.mails_to("alice@example.com")[0])
    session = await world.login()
    await world.verification.resend(session, {})
    await world.settled()
    second = world.token_of(world.mails_to("alice@example.com")[1])
    assert first != second
    with pytest.raises(InvalidToken):
        await world.verify(first)
    await world.verify(second)


async def test_a_resend_needs_a_session_an_unverified_address_and_no_fields() -> None:
    world = World()
    await world.register()
    with pytest.raises(NotAuthenticated):
        await world.verification.resend(None, {})
    with pytest.raises(NotAuthenticated):
        await world.verification.resend("not-a-session", {})
    session = await world.login()
    with pytest.raises(InvalidInput) as raised:
        await world.verification.resend(session, {})
    assert raised.value.errors == {"email": NO_ADDRESS}
    with pytest.raises(InvalidInput) as raised:
        await world.verification.resend(session, {"email": "alice@example.com"})
    assert raised.value.errors == {"email": "is not an accepted field"}
    await world.edit(session, {"email": "alice@example.com", "old_password": PASSWORD})
    await world.verify(world.token_of(world.mails_to("alice@example.com")[0]))
    with pytest.raises(InvalidInput) as raised:
        await world.verification.resend(session, {})
    assert raised.value.errors == {"email": ALREADY_VERIFIED}


async def test_mails_per_user_are_limited_and_a_resend_beyond_is_refused() -> None:
    world = World(sends=3)
    await world.register(email="alice@example.com")  # 1
    session = await world.login()
    # Each resend's mail job done before the next: a job that finds a newer link mails nothing.
    await world.verification.resend(session, {})  # 2
    await world.settled()
    await world.verification.resend(session, {})  # 3
    await world.settled()
    with pytest.raises(RateLimited):
        await world.verification.resend(session, {})
    # An address change beyond the limit is refused before anything is written.
    with pytest.raises(RateLimited):
        await world.edit(
            session, {"email": "alice@example.org", "nickname": "Al", "old_password": PASSWORD}
        )
    await world.settled()
    stored = await world.stored(await world.accounts.info(session))
    assert (stored.email, stored.nickname) == ("alice@example.com", "alice")
    assert world.mails_to("alice@example.org") == []
    assert len(world.mails_to("alice@example.com")) == 3


async def test_address_changes_count_against_the_mails_taken_or_not_before_the_write() -> None:
    world = World(sends=3)
    await world.register("bob", email="bob@example.com")
    await world.register(email="alice@example.com")  # 1
    session = await world.login()
    with pytest.raises(Duplicate):  # 2: a taken address counts too
        await world.edit(session, {"email": "BOB@example.com", "old_password": PASSWORD})
    # 3, mailed uncounted again:
    await world.edit(session, {"email": "alice@example.org", "old_password": PASSWORD})
    assert len(world.mails_to("alice@example.org")) == 1
    for email in ("carol@example.com", "bob@example.com"):
        body = {"email": email, "old_password": PASSWORD}
        with pytest.raises(RateLimited):
            await world.edit(session, body)
    changes = {"email": "dave@example.com", "password": "a brand new one"}
    with pytest.raises(RateLimited):
        await world.edit(session, {**changes, "old_password": PASSWORD})
    assert await world.login()  # the password did not change
    # Removing the address, or naming the same one, is no change to count.
    assert (await world.edit(session, {"email": "ALICE@example.org"})).email == "alice@example.org"
    assert (await world.edit(session, {"email": None, "old_password": PASSWORD})).email is None
    await world.settled()
    assert world.mails_to("carol@example.com") == world.mails_to("dave@example.com") == []


async def test_unusable_tokens_are_limited_per_client() -> None:
    world = World(failures=3)
    await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    for _ in range(3):
        with pytest.raises(InvalidToken):
            await world.verify("A" * 43 + "0000")
    with pytest.raises(RateLimited):
        await world.verify(token)
    await world.verify(token, client="198.51.100.7")


async def test_racing_uses_of_one_token_verify_once() -> None:
    world = World()
    await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    outcomes = await asyncio.gather(
        *(world.verify(token, client=f"192.0.2.{n}") for n in range(10)), return_exceptions=True
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, InvalidToken) for o in outcomes if o is not None)


async def test_an_outage_while_verifying_leaves_the_token_usable() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    world.store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.verify(token)
    world.store.available = True
    world.token_store.available = False
    with pytest.raises(DependencyUnavailable):
        await world.verify(token)
    world.token_store.available = True
    await world.verify(token)
    assert (await world.stored(user)).email_verified


async def test_an_expired_token_is_refused() -> None:
    world = World()
    user = await world.register(email="alice@example.com")
    token = world.token_of(world.mails_to("alice@example.com")[0])
    world.now += 601
    with pytest.raises(InvalidToken):
        await world.verify(token)
    assert not (await world.stored(user)).email_verified


async def test_a_failed_mail_job_changes_no_answer() -> None:
    world = World()
    world.token_store.available = False
    user = await world.register(email="alice@example.com")
    assert (user.email, user.email_verified) == ("alice@example.com", False)
    assert world.outbox.posted == []


class JobGate:
    """Holds the calls of one async method made by background jobs (any task but the test's
    own) until `release`; `entered` is set when a job's call is first held."""

    def __init__(self, owner: object, name: str) -> None:
        self.entered = asyncio.Event()
        self._open = asyncio.Event()
        self._test = asyncio.current_task()
        method = getattr(owner, name)

        async def gated(*args: object, **kwargs: object) -> object:
            if asyncio.current_task() is not self._test and not self._open.is_set():
                self.entered.set()
                await self._open.wait()
            return await method(*args, **kwargs)

        setattr(owner, name, gated)

    def release(self) -> None:
        self._open.set()


async def test_an_address_replaced_before_its_mail_went_out_gets_none() -> None:
    world = World()
    await world.register()
    session = await world.login()
    gate = JobGate(world.store, "find_by_id")
    await world.accounts.edit(session, {"email": "first@example.com", "old_password": PASSWORD})
    await gate.entered.wait()
    await world.accounts.edit(session, {"email": "second@example.com", "old_password": PASSWORD})
    gate.release()
    await world.settled()
    assert world.mails_to("first@example.com") == []
    [mail] = world.mails_to("second@example.com")
    await world.verify(world.token_of(mail))


async def test_a_late_mail_job_for_a_replaced_address_leaves_the_new_address_a_live_link() -> None:
    world = World()
    gate = JobGate(world.limiter, "count")
    # The registration's job has read its address and is held before its token is issued.
    await world.accounts.register(
        {"username": "alice", "password": PASSWORD, "email": "old@example.com"}, CLIENT
    )
    await gate.entered.wait()
    session = await world.login()
    await world.accounts.edit(session, {"email": "new@example.com", "old_password": PASSWORD})
    await eventually_async(
        lambda: world.mails_to("new@example.com"),
        5.0,
        "the address change mailed new@example.com",
        pause=0,
    )
    assert len(world.mails_to("new@example.com")) == 1
    gate.release()
    await world.settled()
    assert world.mails_to("old@example.com") == []
    newest = world.mails_to("new@example.com")[-1]
    await world.verify(world.token_of(newest))
    assert (await world.stored(await world.accounts.info(session))).email_verified


async def test_a_mail_job_that_a_password_change_overtook_mails_a_link_that_works() -> None:
    world = World()
    gate = JobGate(world.limiter, "count")
    await world.accounts.register(
        {"username": "alice", "password": PASSWORD, "email": "alice@example.com"}, CLIENT
    )
    await gate.entered.wait()
    session = await world.login()
    await world.accounts.edit(session, {"password": "a brand new one", "old_password": PASSWORD})
    gate.release()
    await world.settled()
    [mail] = world.mails_to("alice@example.com")
    await world.verify(world.token_of(mail))


async def test_a_verified_address_changed_with_a_password_change_is_told_of_it() -> None:
    world = World()
    await world.register(email="alice@example.com")
    await world.verify(world.token_of(world.mails_to("alice@example.com")[0]))
    session = await world.login()
    body = {
        "email": "mallory@evil.example",
        "password": "a brand new one",
        "old_password": PASSWORD,
    }
    await world.edit(session, body)
    [notice] = world.outbox.messages_to("alice@example.com", NOTICE_PURPOSE)
    for part in (notice.text, notice.html):
        assert "evil.example" in part
        assert "mallory" not in part
        assert TOKEN_IN_LINK.search(part) is None


async def test_an_unverified_or_absent_former_address_is_told_nothing() -> None:
    world = World()
    await world.register(email="alice@example.com")
    session = await world.login()
    await world.edit(session, {"email": "alice@example.org", "old_password": PASSWORD})
    await world.edit(session, {"email": None, "old_password": PASSWORD})
    await world.edit(session, {"email": "alice@example.net", "old_password": PASSWORD})
    assert [kind for kind, _ in world.outbox.posted if kind == NOTICE_PURPOSE] == []
