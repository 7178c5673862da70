"""The storage adapters against the real servers: what they write, where, and for how long."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import pytest
import redis as redis_sync
from redis.asyncio import Redis

from factsvc.config import Settings
from factsvc.services.sessions import SessionService
from factsvc.services.users import NewAccount
from factsvc.storage import mongo
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.redis_counters import PREFIX as COUNTER_PREFIX
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_sessions import SESSION_PREFIX, USER_INDEX_PREFIX, RedisSessionStore

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
        key = SESSION_PREFIX + hashlib.sha256(session.token.encode()).hexdigest()
        assert redis_direct.exists(key) == 1
        for stored_key in redis_direct.keys("*"):
            assert session.token.encode() not in stored_key
            assert session.token.encode() not in (redis_direct.dump(stored_key) or b"")
        assert 0 < redis_direct.ttl(key) <= 600
        assert 0 < redis_direct.ttl(USER_INDEX_PREFIX + "user-1") <= 3600

        redis_direct.expire(key, 5)
        assert await sessions.resolve(session.token) is not None
        assert redis_direct.ttl(key) > 5, "each use restarts the idle timer"

        await sessions.destroy(session)
        await sessions.refresh_snapshot(session, {"id": "user-1"})
        assert redis_direct.exists(key) == 0, "a late write never recreates an ended session"
        assert await sessions.resolve(session.token) is None
    finally:
        await redis.aclose()


async def test_ending_all_sessions_of_a_user_leaves_others_alone(settings: Settings) -> None:
    redis = await redis_client(settings)
    try:
        sessions = SessionService(RedisSessionStore(redis), idle_seconds=600, absolute_seconds=3600)
        mine = [await sessions.create("me", {}) for _ in range(3)]
        theirs = await sessions.create("them", {})
        await sessions.end_all("me")
        assert [await sessions.resolve(s.token) for s in mine] == [None, None, None]
        assert await sessions.resolve(theirs.token) is not None
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
        await counters.refund("k")
        assert int(redis_direct.get(COUNTER_PREFIX + "k") or 0) == 1
        await counters.refund("missing")
        assert redis_direct.exists(COUNTER_PREFIX + "missing") == 0
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
