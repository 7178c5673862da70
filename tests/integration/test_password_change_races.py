"""Logins and password changes raced step by step on a real redis-server (one server, and a
Redis Cluster) and MongoDB-compatible server: the scenarios of tests/support/credential_races.py,
through the production adapters (the Lua scripts and conditional writes that make the
guarantee), and one race over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.services.users import now_utc
from factsvc.storage import mongo
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_sessions import RedisSessionStore
from tests.support.api import Api
from tests.support.credential_races import (
    LOGIN_PAUSES,
    NEW,
    OLD,
    SCENARIOS,
    Race,
    a_login_held_while_the_password_changes_opens_no_session,
    hold,
)
from tests.support.real_stores import STATE_ON, real_clients, state_settings_on

pytestmark = pytest.mark.gen_test(timeout=60)


@pytest.fixture(params=STATE_ON)
def state_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Where the race keeps its sessions and counters (real_stores.state_settings_on)."""
    return state_settings_on(request, settings)


@contextlib.asynccontextmanager
async def real_race(settings: Settings) -> AsyncIterator[Race]:
    async with real_clients(settings) as (redis, client):
        yield Race.build(
            MongoAccountStore(mongo.collection(client, settings.mongodb_name, "users")),
            RedisSessionStore(redis),
            RedisCounterStore(redis),
            asyncio.sleep,
        )


@pytest.mark.parametrize("resumed_late", [False, True], ids=["at_once", "after_the_change_time"])
@pytest.mark.parametrize("pause", list(LOGIN_PAUSES))
async def test_a_login_held_while_the_password_changes_opens_no_session(
    state_settings: Settings, pause: str, resumed_late: bool
) -> None:
    async with real_race(state_settings) as race:
        await a_login_held_while_the_password_changes_opens_no_session(race, pause, resumed_late)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_a_race_between_login_and_password_change(
    state_settings: Settings, scenario: Callable[[Race], Awaitable[None]]
) -> None:
    async with real_race(state_settings) as race:
        await scenario(race)


async def test_an_account_stored_before_credential_versions_is_at_version_zero(
    settings: Settings,
) -> None:
    client = mongo.make_mongo_client(settings)
    try:
        users = mongo.collection(client, settings.mongodb_name, "users")
        store = MongoAccountStore(users)
        moment = now_utc()
        older: dict[str, object] = {"username": "alice", "nickname": "alice", "gender": "i"}
        older |= {"password_hash": "$2b$04$old", "create_time": moment, "update_time": moment}
        older |= {"email": "alice@example.com", "email_key": "alice@example.com"}
        user_id = str((await users.insert_one(older)).inserted_id)
        stored = await store.find_by_username("alice")
        assert stored is not None
        assert stored.credential_version == 0
        assert not await store.mark_email_verified(user_id, "alice@example.com", 1)
        assert await store.mark_email_verified(user_id, "alice@example.com", 0)
        assert await store.advance_credential_version(user_id, "$2b$04$old", 0, 0)
        new_hash = {"password_hash": "$2b$04$new"}
        assert await store.replace_credential(user_id, new_hash, moment, 1) is None
        assert await store.replace_credential(user_id, new_hash, moment, 0) is not None
        stored = await store.find_by_id(user_id)
        assert stored is not None
        assert (stored.password_hash, stored.credential_version) == ("$2b$04$new", 1)
    finally:
        client.close()


async def test_over_http_a_login_with_the_old_password_during_a_change_is_refused(
    services: Services, http_client: AsyncHTTPClient, base_url: str
) -> None:
    owner, racer = Api(http_client, base_url), Api(http_client, base_url)
    await owner.register()
    assert (await owner.login()).status == 200
    # The service's own MongoDB adapter, held after the login's read of the account: the
    # password change then runs from start to end before the login goes on.
    gate = hold(services.accounts._store, "find_by_username", after=True)
    login = asyncio.ensure_future(racer.login())
    await gate.reached.wait()
    changed = await owner.post("/account/edit", {"password": NEW, "old_password": OLD})
    assert changed.status == 200
    gate.release()
    refused = await login
    assert (refused.status, refused.code) == (401, 1001)
    assert refused.set_cookies() == []
    assert (await racer.get("/account/info")).status == 401
    assert (await owner.get("/account/info")).status == 200
    assert (await racer.login(password=OLD)).status == 401
    assert (await racer.login(password=NEW)).status == 200
