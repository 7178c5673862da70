"""Account deletions raced step by step and failed part-way on a real redis-server (one
server, and a Redis Cluster) and MongoDB-compatible server: the scenarios of
tests/support/deletion_races.py, through the production adapters (the Lua scripts and the
conditional delete that make the guarantee)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from factsvc.config import Settings
from factsvc.services.users import now_utc
from factsvc.storage import mongo
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.mongo_avatars import MongoAvatarStore
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_sessions import RedisSessionStore
from tests.support.credential_races import LOGIN_PAUSES
from tests.support.deletion_races import (
    SCENARIOS,
    DeletionRace,
    a_login_held_while_the_account_is_deleted_opens_no_session,
)
from tests.support.real_stores import STATE_ON, real_clients, state_settings_on

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture(params=STATE_ON)
def state_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Where the race keeps its sessions and counters (real_stores.state_settings_on)."""
    return state_settings_on(request, settings)


@contextlib.asynccontextmanager
async def real_race(settings: Settings) -> AsyncIterator[DeletionRace]:
    async with real_clients(settings) as (redis, client):
        yield DeletionRace.build(
            MongoAccountStore(mongo.collection(client, settings.mongodb_name, "users")),
            RedisSessionStore(redis),
            RedisCounterStore(redis),
            MongoAvatarStore(client, settings.mongodb_name),
            asyncio.sleep,
        )


@pytest.mark.parametrize("resumed_late", [False, True], ids=["at_once", "after_the_change_time"])
@pytest.mark.parametrize("pause", list(LOGIN_PAUSES))
async def test_a_login_held_while_the_account_is_deleted_opens_no_session(
    state_settings: Settings, pause: str, resumed_late: bool
) -> None:
    async with real_race(state_settings) as race:
        await a_login_held_while_the_account_is_deleted_opens_no_session(race, pause, resumed_late)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_a_deletion_raced_or_failed_part_way(
    state_settings: Settings, scenario: Callable[[DeletionRace], Awaitable[None]]
) -> None:
    async with real_race(state_settings) as race:
        await scenario(race)


async def test_an_account_stored_before_credential_versions_is_deleted_below_a_version(
    settings: Settings,
) -> None:
    client = mongo.make_mongo_client(settings)
    try:
        users = mongo.collection(client, settings.mongodb_name, "users")
        store = MongoAccountStore(users)
        moment = now_utc()
        older: dict[str, object] = {"username": "alice", "nickname": "alice", "gender": "i"}
        older |= {"password_hash": "$2b$04$old", "create_time": moment, "update_time": moment}
        user_id = str((await users.insert_one(older)).inserted_id)
        assert not await store.delete(user_id, below_version=0)
        assert await store.find_by_id(user_id) is not None
        assert await store.delete(user_id, below_version=1)
        assert await store.find_by_id(user_id) is None
    finally:
        client.close()
