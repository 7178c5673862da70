"""The storage adapters against the real servers: what they write, where, and for how long."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import pytest
import redis as redis_sync
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from factsvc.config import Settings
from factsvc.embedded import ManagedServer, free_port
from factsvc.errors import CacheUnavailable, DependencyUnavailable, Duplicate
from factsvc.services.sessions import SessionService, user_tag
from factsvc.services.users import NewAccount
from factsvc.storage import mongo
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.redis_cache import RedisFactorialCache
from factsvc.storage.redis_counters import LEASES_PREFIX as COUNTER_LEASES_PREFIX
from factsvc.storage.redis_counters import PREFIX as COUNTER_PREFIX
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_sessions import SESSION_PREFIX, USER_INDEX_PREFIX, RedisSessionStore
from tests.support.faultproxy import FaultProxy, Mode
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test(timeout=30)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


async def redis_client(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url)


async def test_sessions_live_under_the_hash_of_their_token_with_ttls(
    settings: Settings, redis_direct: redis_sync.Redis
) -> None:
    redis = await redis_client(settings)
    try:
        sessions = SessionService(RedisSessionStore(redis), idle_seconds=600, absolute_seconds=3600)
        session = await sessions.create("user-1", {"id": "user-1"})
        # Under the user's hash tag, which the token ends with.
        tag = "{" + user_tag("user-1") + "}:"
        assert session.token.endswith(user_tag("user-1"))
        key = SESSION_PREFIX + tag + hashlib.sha256(session.token.encode()).hexdigest()
        assert redis_direct.exists(key) == 1
        for stored_key in redis_direct.keys("*"):
            assert session.token.encode() not in stored_key
            assert session.token.encode() not in (redis_direct.dump(stored_key) or b"")
        assert 0 < redis_direct.ttl(key) <= 600
        assert 0 < redis_direct.ttl(USER_INDEX_PREFIX + tag + "user-1") <= 3600

        redis_direct.expire(key, 5)
        assert await sessions.resolve(session.token) is not None
        assert redis_direct.ttl(key) > 5, "each use restarts the idle timer"

        await sessions.destroy(session)
        await sessions.refresh_snapshot(session, {"id": "user-1"})
        assert redis_direct.exists(key) == 0, "a late write never recreates an ended session"
        assert await sessions.resolve(session.token) is None
    finally:
        await redis.aclose()


async def test_rate_limit_windows_start_at_the_first_hit_and_are_never_extended(
    settings: Settings, redis_direct: redis_sync.Redis
) -> None:
    redis = await redis_client(settings)
    try:
        counters = RedisCounterStore(redis)
        assert await counters.hit("k", 10) == (1, 10)
        await asyncio.sleep(1.1)
        count, ttl = await counters.hit("k", 10)
        assert count == 2
        assert ttl <= 9
        assert int(redis_direct.get(COUNTER_PREFIX + "{k}") or 0) == 2
        await counters.settle("missing", "lease", failed=True, window_seconds=10)
        assert redis_direct.exists(COUNTER_PREFIX + "{missing}") == 0
        await counters.reserve("g", "l", max_failures=3, lease_seconds=60, window_seconds=10)
        # The leases outlive the last one by a lease, so that its late end still finds it.
        assert 110_000 < redis_direct.pttl(COUNTER_LEASES_PREFIX + "{g}") <= 120_000
        await counters.settle("g", "l", failed=True, window_seconds=10)
        assert 0 < redis_direct.ttl(COUNTER_PREFIX + "{g}") <= 10, "failures expire with the window"
    finally:
        await redis.aclose()


async def test_updates_touch_only_allowed_fields_and_respect_the_expected_hash(
    settings: Settings,
) -> None:
    client = mongo.make_mongo_client(settings)
    try:
        users = mongo.collection(client, settings.mongodb_name, "users")
        store = MongoAccountStore(users)
        user = await store.insert(NewAccount("alice", "Alice", "f", "$2b$04$old", NOW))
        assert user.create_time == NOW
        before = await users.find_one({"username": "alice"})

        with pytest.raises(ValueError, match="not editable"):
            await store.update(user.id, {"username": "mallory"}, NOW)
        stale = await store.update(user.id, {"password_hash": "$2b$04$new"}, NOW, "$2b$04$other")
        assert stale is None
        assert await users.find_one({"username": "alice"}) == before

        updated = await store.update(user.id, {"nickname": "Al"}, NOW, "$2b$04$old")
        assert updated is not None
        assert updated.nickname == "Al"
        assert await store.find_by_id("not-an-object-id") is None
    finally:
        client.close()


async def test_driver_errors_reach_the_services_as_domain_errors_with_their_cause(
    settings: Settings,
) -> None:
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(DependencyUnavailable) as from_redis:
            await RedisSessionStore(nowhere).load("k", 60)
        assert isinstance(from_redis.value.__cause__, RedisConnectionError)
        with pytest.raises(DependencyUnavailable) as from_counters:
            await RedisCounterStore(nowhere).hit("k", 60)
        assert isinstance(from_counters.value.__cause__, RedisConnectionError)
    finally:
        await nowhere.aclose()

    client = mongo.make_mongo_client(settings)
    unreachable = mongo.make_mongo_client(
        with_settings(
            settings, mongodb_uri=f"mongodb://127.0.0.1:{free_port()}/", mongodb_timeout_ms=300
        )
    )
    try:
        store = MongoAccountStore(mongo.collection(client, settings.mongodb_name, "users"))
        await store.insert(NewAccount("alice", "Alice", "f", "$2b$04$old", NOW))
        with pytest.raises(Duplicate) as duplicate:
            await store.insert(NewAccount("alice", "Other", "m", "$2b$04$new", NOW))
        assert isinstance(duplicate.value.__cause__, DuplicateKeyError)
        cut_off = MongoAccountStore(mongo.collection(unreachable, settings.mongodb_name, "users"))
        with pytest.raises(DependencyUnavailable) as from_mongo:
            await cut_off.find_by_username("alice")
        assert isinstance(from_mongo.value.__cause__, ServerSelectionTimeoutError)
    finally:
        client.close()
        unreachable.close()


async def test_the_cache_leaves_redis_alone_for_a_while_after_a_failure(
    redis_backend: ManagedServer, redis_direct: redis_sync.Redis
) -> None:
    async with FaultProxy(redis_backend.port) as proxy:
        redis = Redis.from_url(proxy.url("redis", "/0"), socket_timeout=0.5)
        try:
            cache = RedisFactorialCache(redis, ttl_seconds=60, retry_after_failure=0.5)
            await proxy.set_mode(Mode.REFUSE)
            with pytest.raises(CacheUnavailable) as failed:
                await cache.get(5)
            assert isinstance(failed.value.__cause__, RedisConnectionError)

            await proxy.set_mode(Mode.PASS)
            with pytest.raises(CacheUnavailable, match="skipped") as skipped:
                await cache.get(5)
            assert skipped.value.__cause__ is None, "Redis was not asked"
            with pytest.raises(CacheUnavailable, match="skipped"):
                await cache.set(5, "120")

            await asyncio.sleep(0.6)
            await cache.set(5, "120")
            assert await cache.get(5) == "120"
        finally:
            await redis.aclose()
