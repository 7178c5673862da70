"""Mailed account tokens: their shape, what peek and spend accept, expiry, one live token per
user and purpose, single use under races."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

import pytest

from factsvc.errors import DependencyUnavailable
from factsvc.services.account_tokens import (
    AccountTokenService,
    TokenGrant,
    TokenPurpose,
    well_formed,
)
from factsvc.services.session_tokens import user_tag
from tests.contract.subjects import ManualClock
from tests.support.fake_account_tokens import FakeAccountTokenStore, fake_account_tokens

pytestmark = pytest.mark.gen_test(timeout=10)

RESET = TokenPurpose.RESET_PASSWORD
VERIFY = TokenPurpose.VERIFY_EMAIL
USER = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
TTLS = {VERIFY: 600, RESET: 60}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def tokens(clock: ManualClock) -> tuple[AccountTokenService, FakeAccountTokenStore]:
    return fake_account_tokens(clock, TTLS)


async def issue(service: AccountTokenService, purpose: TokenPurpose = RESET) -> str:
    return await service.issue(purpose, USER, email="ann@example.org", credential_version=3)


async def test_a_token_is_256_random_bits_in_base64url_then_its_users_tag(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}[0-9a-f]{4}", token)
    assert token.endswith(user_tag(USER))
    assert well_formed(token)


async def test_the_store_holds_only_the_tokens_hash(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, store = tokens
    token = await issue(service)
    held = repr(store.records) + repr(store.by_user)
    assert token not in held
    assert token[:-4] not in held
    assert hashlib.sha256(token.encode()).hexdigest() in held


async def test_peek_gives_the_grant_and_does_not_spend_it(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore], clock: ManualClock
) -> None:
    service, _ = tokens
    token = await issue(service)
    expected = TokenGrant(USER, RESET, "ann@example.org", 3, clock.now)
    assert await service.peek(RESET, token) == expected
    assert await service.peek(RESET, token) == expected
    assert await service.spend(RESET, token) is True


async def test_a_token_is_single_use(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service)
    assert await service.spend(RESET, token) is True
    assert await service.spend(RESET, token) is False
    assert await service.peek(RESET, token) is None


async def test_of_concurrent_spends_exactly_one_succeeds(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service)
    spent = await asyncio.gather(*(service.spend(RESET, token) for _ in range(50)))
    assert spent.count(True) == 1


async def test_a_token_is_unknown_to_the_other_purpose(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service, VERIFY)
    assert await service.peek(RESET, token) is None
    assert await service.spend(RESET, token) is False
    assert await service.peek(VERIFY, token) is not None


async def test_a_token_expires_after_its_purposes_ttl(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore], clock: ManualClock
) -> None:
    service, _ = tokens
    reset, verify = await issue(service, RESET), await issue(service, VERIFY)
    await clock.advance(59.9)
    assert await service.peek(RESET, reset) is not None
    await clock.advance(0.1)
    assert await service.peek(RESET, reset) is None
    assert await service.spend(RESET, reset) is False
    assert await service.peek(VERIFY, verify) is not None
    await clock.advance(540)
    assert await service.spend(VERIFY, verify) is False


async def test_a_lowered_ttl_shortens_tokens_already_issued(clock: ManualClock) -> None:
    store = FakeAccountTokenStore(clock)
    token = await issue(AccountTokenService(store, ttl_seconds=TTLS, clock=clock))
    await clock.advance(30)
    shorter = AccountTokenService(store, ttl_seconds={**TTLS, RESET: 20}, clock=clock)
    assert await shorter.peek(RESET, token) is None
    assert await shorter.spend(RESET, token) is False


async def test_a_new_token_voids_the_older_of_its_purpose_only(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, store = tokens
    first, verify = await issue(service), await issue(service, VERIFY)
    second = await issue(service)
    assert await service.peek(RESET, first) is None
    assert await service.spend(RESET, first) is False
    assert await service.peek(RESET, second) is not None
    assert await service.peek(VERIFY, verify) is not None
    assert store.live_count() == 2


async def test_another_users_token_is_untouched_by_an_issue(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    theirs = await service.issue(RESET, OTHER, email="bo@example.org", credential_version=0)
    await issue(service)
    await service.void(RESET, USER)
    grant = await service.peek(RESET, theirs)
    assert grant is not None
    assert grant.user_id == OTHER


async def test_void_ends_the_users_token_of_that_purpose(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    reset, verify = await issue(service), await issue(service, VERIFY)
    await service.void(VERIFY, USER)
    await service.void(VERIFY, USER)
    assert await service.peek(VERIFY, verify) is None
    assert await service.spend(VERIFY, verify) is False
    assert await service.peek(RESET, reset) is not None


def _malformed(token: str) -> list[object]:
    tag = token[-4:]
    return [
        "",
        token[:-1],
        token + "a",
        token[1:],
        token[:-4] + tag.upper(),
        token[:-4] + "zzzz",
        "=" + token[1:],
        "." + token[1:],
        "+" + token[1:],
        "/" + token[1:],
        " " + token[1:],
        token[:-1] + "\n",
        token + "\n",
        "é" + token[1:],
        "\u0661" + token[1:],
        token[:-1] + "\u0661",
        "\x00" + token[1:],
        "\ud800" + token[1:],
        token * 1000,
        "a" * 1_000_000,
        None,
        47,
        [token],
        {"token": token},
        token.encode(),
    ]


async def test_malformed_tokens_are_unknown_without_a_look_up(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, store = tokens
    token = await issue(service)
    store.available = False
    for bad in _malformed(token):
        assert not well_formed(bad), repr(bad)[:80]
        assert await service.peek(RESET, bad) is None, repr(bad)[:80]
        assert await service.spend(RESET, bad) is False, repr(bad)[:80]
    store.available = True
    assert await service.spend(RESET, token) is True


async def test_a_well_formed_token_with_another_users_tag_is_unknown(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service)
    other_tag = user_tag(OTHER)
    assert other_tag != token[-4:]
    moved = token[:-4] + other_tag
    assert well_formed(moved)
    assert await service.peek(RESET, moved) is None
    assert await service.spend(RESET, moved) is False
    assert await service.peek(RESET, token) is not None


async def test_an_unknown_well_formed_token_is_unknown(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, _ = tokens
    token = await issue(service)
    forged = ("A" if token[0] != "A" else "B") + token[1:]
    assert await service.peek(RESET, forged) is None
    assert await service.spend(RESET, forged) is False


@pytest.mark.parametrize(
    "record",
    [
        {"user_id": USER, "email": "a@b.c", "credential_version": "3", "issued_at": 1e6},
        {"user_id": USER, "email": "a@b.c", "credential_version": True, "issued_at": 1e6},
        {"user_id": USER, "email": None, "credential_version": 3, "issued_at": 1e6},
        {"user_id": 7, "email": "a@b.c", "credential_version": 3, "issued_at": 1e6},
        {"user_id": USER, "email": "a@b.c", "credential_version": 3, "issued_at": "now"},
        {"user_id": USER, "email": "a@b.c", "credential_version": 3},
        {"user_id": OTHER, "email": "a@b.c", "credential_version": 3, "issued_at": 1e6},
    ],
)
async def test_a_damaged_record_grants_nothing(
    record: dict[str, object], clock: ManualClock
) -> None:
    store = FakeAccountTokenStore(clock)
    service = AccountTokenService(store, ttl_seconds=TTLS, clock=clock)
    token = await issue(service)
    key = store.by_user[(RESET, USER)]
    store.records[(RESET, key)] = (json.dumps(record), clock.now + 60)
    assert await service.peek(RESET, token) is None
    assert await service.spend(RESET, token) is False


async def test_every_purpose_needs_a_ttl() -> None:
    with pytest.raises(ValueError, match="TTL"):
        AccountTokenService(FakeAccountTokenStore(), ttl_seconds={RESET: 60})
    with pytest.raises(ValueError, match="TTL"):
        AccountTokenService(FakeAccountTokenStore(), ttl_seconds={RESET: 60, VERIFY: 0})


async def test_an_outage_is_dependency_unavailable(
    tokens: tuple[AccountTokenService, FakeAccountTokenStore],
) -> None:
    service, store = tokens
    token = await issue(service)
    store.available = False
    with pytest.raises(DependencyUnavailable):
        await issue(service)
    with pytest.raises(DependencyUnavailable):
        await service.peek(RESET, token)
    with pytest.raises(DependencyUnavailable):
        await service.spend(RESET, token)
    with pytest.raises(DependencyUnavailable):
        await service.void(RESET, USER)
    store.available = True
    assert await service.spend(RESET, token) is True
