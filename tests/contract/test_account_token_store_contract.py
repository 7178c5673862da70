"""The AccountTokenStore port: FakeAccountTokenStore and RedisAccountTokenStore (one Redis, and
a Redis Cluster) pass the same checks, and AccountTokenService keeps its promises on each."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio.cluster import RedisCluster

from factsvc.errors import DependencyUnavailable
from factsvc.services.account_tokens import (
    AccountTokenService,
    AccountTokenStore,
    TokenPurpose,
)
from factsvc.services.session_tokens import session_key, user_tag
from factsvc.storage.redis_account_tokens import POINTER_PREFIX, RedisAccountTokenStore
from factsvc.storage.redis_client import RedisClient, hash_tag
from tests.contract.subjects import (
    LIVE_REDIS,
    REDIS_SUBJECTS,
    ManualClock,
    Subject,
    redis_subject,
    user_key,
)
from tests.support.fake_account_tokens import FakeAccountTokenStore

pytestmark = pytest.mark.gen_test(timeout=30)

RESET = TokenPurpose.RESET_PASSWORD
VERIFY = TokenPurpose.VERIFY_EMAIL
RECORD = {"user_id": "u1", "email": "änn@exämple.org", "credential_version": 3, "issued_at": 1.5}
NEWER = {**RECORD, "credential_version": 4}
TTLS = {RESET: 60, VERIFY: 60}


K1, K2, K3 = (user_key("u1", f"k{number}") for number in range(1, 4))
UNKNOWN = user_key("u1", "unknown")
THEIRS = user_key("u2", "theirs")


@pytest.fixture(params=REDIS_SUBJECTS)
def tokens(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[AccountTokenStore]:
    return redis_subject(request, clock, FakeAccountTokenStore, RedisAccountTokenStore)


@pytest.fixture(params=list(LIVE_REDIS))
def inside(request: pytest.FixtureRequest) -> tuple[AccountTokenStore, RedisClient]:
    """A real subject's store and its live Redis, for the checks that look inside Redis."""
    redis: RedisClient = request.getfixturevalue(LIVE_REDIS[request.param])
    return RedisAccountTokenStore(redis), redis


async def names_in(redis: RedisClient, pattern: str = "*") -> list[bytes]:
    """The names of the keys matching `pattern`, on every master of a cluster."""
    if isinstance(redis, RedisCluster):
        found = await redis.keys(pattern, target_nodes=RedisCluster.PRIMARIES)
    else:
        found = await redis.keys(pattern)
    return sorted(name if isinstance(name, bytes) else name.encode() for name in found)


async def warm(store: AccountTokenStore, racers: int) -> None:
    """Opens as many connections to Redis as `racers` concurrent calls use, so that their
    commands reach Redis together rather than each a connection's handshake after the other
    (cold, a GET then DEL took one record in 50; warm, all 50)."""
    await asyncio.gather(*(store.load(RESET, UNKNOWN) for _ in range(racers)))


async def test_a_saved_record_loads_back_equal(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    assert await tokens.store.load(RESET, K1) == RECORD
    assert await tokens.store.load(RESET, UNKNOWN) is None


async def test_a_record_is_known_only_to_its_purpose(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    assert await tokens.store.load(VERIFY, K1) is None
    assert await tokens.store.take(VERIFY, K1) is None
    assert await tokens.store.load(RESET, K1) == RECORD


async def test_a_record_ends_after_its_ttl(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 1)
    await tokens.store.save(VERIFY, K2, "u1", RECORD, 0)
    await tokens.wait(1.1)
    assert await tokens.store.load(RESET, K1) is None
    assert await tokens.store.take(VERIFY, K2) is None


async def test_a_save_ends_the_users_earlier_record_of_that_purpose_only(
    tokens: Subject[AccountTokenStore],
) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    await tokens.store.save(VERIFY, K2, "u1", RECORD, 60)
    await tokens.store.save(RESET, THEIRS, "u2", RECORD, 60)
    await tokens.store.save(RESET, K3, "u1", NEWER, 60)
    assert await tokens.store.load(RESET, K1) is None
    assert await tokens.store.take(RESET, K1) is None
    assert await tokens.store.load(RESET, K3) == NEWER
    assert await tokens.store.load(VERIFY, K2) == RECORD
    assert await tokens.store.load(RESET, THEIRS) == RECORD


async def test_saving_one_key_again_keeps_it(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    await tokens.store.save(RESET, K1, "u1", NEWER, 60)
    assert await tokens.store.load(RESET, K1) == NEWER


async def test_of_concurrent_saves_for_one_user_one_record_stays(
    tokens: Subject[AccountTokenStore],
) -> None:
    keys = [user_key("u1", f"race{number}") for number in range(20)]
    await warm(tokens.store, 20)
    await asyncio.gather(*(tokens.store.save(RESET, k, "u1", RECORD, 60) for k in keys))
    loaded = [await tokens.store.load(RESET, k) for k in keys]
    assert sum(record is not None for record in loaded) == 1


async def test_take_gives_the_record_once(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    assert await tokens.store.take(RESET, K1) == RECORD
    assert await tokens.store.take(RESET, K1) is None
    assert await tokens.store.load(RESET, K1) is None
    assert await tokens.store.take(RESET, UNKNOWN) is None


async def test_of_concurrent_takes_one_gets_the_record(tokens: Subject[AccountTokenStore]) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    await warm(tokens.store, 50)
    taken = await asyncio.gather(*(tokens.store.take(RESET, K1) for _ in range(50)))
    assert [record for record in taken if record is not None] == [RECORD]


async def test_a_save_after_a_take_stores_the_new_record(
    tokens: Subject[AccountTokenStore],
) -> None:
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    await tokens.store.take(RESET, K1)
    await tokens.store.save(RESET, K2, "u1", NEWER, 60)
    assert await tokens.store.load(RESET, K2) == NEWER
    await tokens.store.void(RESET, "u1")
    assert await tokens.store.load(RESET, K2) is None


async def test_void_ends_the_users_record_of_that_purpose_only(
    tokens: Subject[AccountTokenStore],
) -> None:
    await tokens.store.void(RESET, "u1")
    await tokens.store.save(RESET, K1, "u1", RECORD, 60)
    await tokens.store.save(VERIFY, K2, "u1", RECORD, 60)
    await tokens.store.save(RESET, THEIRS, "u2", RECORD, 60)
    await tokens.store.void(RESET, "u1")
    await tokens.store.void(RESET, "u1")
    assert await tokens.store.load(RESET, K1) is None
    assert await tokens.store.take(RESET, K1) is None
    assert await tokens.store.load(VERIFY, K2) == RECORD
    assert await tokens.store.load(RESET, THEIRS) == RECORD


async def test_a_key_without_its_users_tag_is_refused(tokens: Subject[AccountTokenStore]) -> None:
    with pytest.raises(ValueError, match="tag"):
        await tokens.store.save(RESET, THEIRS, "u1", RECORD, 60)
    assert await tokens.store.load(RESET, THEIRS) is None


async def test_a_store_cut_off_raises_dependency_unavailable(
    tokens: Subject[AccountTokenStore],
) -> None:
    with pytest.raises(DependencyUnavailable):
        await tokens.cut_off.save(RESET, K1, "u1", RECORD, 60)
    with pytest.raises(DependencyUnavailable):
        await tokens.cut_off.load(RESET, K1)
    with pytest.raises(DependencyUnavailable):
        await tokens.cut_off.take(RESET, K1)
    with pytest.raises(DependencyUnavailable):
        await tokens.cut_off.void(RESET, "u1")


async def test_the_service_spends_a_token_once_under_concurrent_spends(
    tokens: Subject[AccountTokenStore],
) -> None:
    service = AccountTokenService(tokens.store, ttl_seconds=TTLS, clock=time.time)
    token = await service.issue(RESET, "u1", email="a@example.org", credential_version=1)
    assert await service.peek(RESET, token) is not None
    await warm(tokens.store, 50)
    spent = await asyncio.gather(*(service.spend(RESET, token) for _ in range(50)))
    assert spent.count(True) == 1
    assert await service.peek(RESET, token) is None


async def test_the_service_voids_the_older_token_at_each_issue(
    tokens: Subject[AccountTokenStore],
) -> None:
    service = AccountTokenService(tokens.store, ttl_seconds=TTLS, clock=time.time)
    older = await service.issue(VERIFY, "u1", email="a@example.org", credential_version=1)
    newer = await service.issue(VERIFY, "u1", email="b@example.org", credential_version=1)
    assert await service.peek(VERIFY, older) is None
    assert await service.spend(VERIFY, older) is False
    grant = await service.peek(VERIFY, newer)
    assert grant is not None
    assert grant.email == "b@example.org"


async def test_redis_holds_no_token_only_its_hash_under_the_users_tag(
    inside: tuple[AccountTokenStore, RedisClient],
) -> None:
    store, redis = inside
    service = AccountTokenService(store, ttl_seconds=TTLS, clock=time.time)
    user = "0123456789abcdef0123456789abcdef"
    token = await service.issue(RESET, user, email="a@example.org", credential_version=1)
    names = [name.decode() for name in await names_in(redis)]
    assert len(names) == 2
    values = [await redis.get(name) for name in names]
    held = repr(names) + repr(values)
    assert token not in held
    assert token[:-4] not in held
    digest = session_key(token).partition(":")[2]
    assert any(name.endswith(digest) for name in names)
    assert all(hash_tag(user_tag(user)) in name for name in names)
    if isinstance(redis, RedisCluster):
        assert len({redis.keyslot(name) for name in names}) == 1


async def test_both_keys_of_a_token_end_with_its_ttl(
    inside: tuple[AccountTokenStore, RedisClient],
) -> None:
    store, redis = inside
    await store.save(RESET, K1, "u1", RECORD, 60)
    names = await names_in(redis)
    assert len(names) == 2
    for name in names:
        assert 59_000 < await redis.pttl(name) <= 60_000


async def test_a_spent_tokens_pointer_is_harmless(
    inside: tuple[AccountTokenStore, RedisClient],
) -> None:
    store, redis = inside
    await store.save(RESET, K1, "u1", RECORD, 60)
    await store.take(RESET, K1)
    pointers = await names_in(redis, POINTER_PREFIX + "*")
    assert len(pointers) == 1
    await store.save(RESET, K2, "u1", NEWER, 60)
    assert await store.load(RESET, K2) == NEWER
    await store.void(RESET, "u1")
    assert await names_in(redis) == []


async def test_a_damaged_record_loads_as_none(
    inside: tuple[AccountTokenStore, RedisClient],
) -> None:
    store, redis = inside
    await store.save(RESET, K1, "u1", RECORD, 60)
    await store.save(VERIFY, K2, "u1", RECORD, 60)
    for name in await names_in(redis, "*:k*"):
        damage = b"\xff not json" if b"reset" in name else b"[1, 2]"
        await redis.set(name, damage, keepttl=True)
    assert await store.load(RESET, K1) is None
    assert await store.take(VERIFY, K2) is None
