"""Registrations answered 503 while MongoDB is paused (SIGSTOP), then retried as the 503
invites: with and without an Idempotency-Key, over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis as redis_sync
import tornado.web

from factsvc.config import Settings
from factsvc.embedded import ManagedServer, mongo_server, mongodb_uri
from factsvc.storage.redis_idempotency import PREFIX
from tests.support.api import PASSWORD, Api, Reply
from tests.support.polling import eventually_async
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

BODY = {"username": "alice", "password": PASSWORD}


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[ManagedServer]:
    server = mongo_server(None, tmp_path)
    server.start()
    server.wait_until_listening()
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
def app(
    app_factory: AppFactory, settings: Settings, own_mongo: ManagedServer
) -> tornado.web.Application:
    return app_factory(with_settings(settings, mongodb_uri=mongodb_uri(own_mongo.port)))


@pytest.fixture
def users(settings: Settings, own_mongo: ManagedServer) -> Iterator[Any]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongodb_uri(own_mongo.port), serverSelectionTimeoutMS=5000
    )
    yield client[settings.mongodb_name]["users"]
    client.close()


async def answered_while_paused(
    server: ManagedServer, api: Api, headers: dict[str, str], body: dict[str, str] = BODY
) -> Reply:
    """POST /register with MongoDB paused; resumed once the answer is in."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        return await api.post("/register", body, headers=headers)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


async def stored_meanwhile(users: Any) -> None:
    """Wait until the resumed server has applied the insert the 503 left unknown."""
    deadline = time.monotonic() + 10
    while users.count_documents({"username": "alice"}) == 0:
        assert time.monotonic() < deadline, "the paused insert was applied on resume"
        await asyncio.sleep(0.1)


async def retried(api: Api, headers: dict[str, str], body: dict[str, str] = BODY) -> Reply:
    """The retry a 503 invites: again after Retry-After while the answer is 503."""
    deadline = time.monotonic() + 15
    while (reply := await api.post("/register", body, headers=headers)).status == 503:
        assert time.monotonic() < deadline
        await asyncio.sleep(float(reply.headers["Retry-After"]))
    return reply


@pytest.mark.parametrize("with_key", [False, True], ids=["without-key", "with-key"])
async def test_a_registration_answered_503_is_retried_safely(
    api: Api, own_mongo: ManagedServer, users: Any, with_key: bool
) -> None:
    headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'} if with_key else {}
    first = await answered_while_paused(own_mongo, api, headers)
    assert (first.status, first.code) == (503, 10)
    await stored_meanwhile(users)

    retry = await retried(api, headers)
    assert retry.status == 201, retry.body
    stored = users.find_one({"username": "alice"})
    assert retry.body["user"]["id"] == str(stored["_id"]), "the account the first attempt made"
    assert users.count_documents({"username": "alice"}) == 1
    if with_key:
        replay = await api.post("/register", BODY, headers=headers)
        assert (replay.status, replay.body) == (201, retry.body)

    taken = await api.post("/register", {**BODY, "password": "someone else's secret"})
    assert (taken.status, taken.code) == (409, 8), "another password still meets a taken name"


async def claimed(redis: redis_sync.Redis) -> None:
    """Return once a request holds an Idempotency-Key: its pending record is in Redis."""
    await eventually_async(  # the service shares this loop: it claims meanwhile
        lambda: any(
            json.loads(redis.get(key) or "{}").get("state") == "pending"
            for key in redis.scan_iter(PREFIX + "*")
        ),
        10,
        "the first request claims its key",
        pause=0.01,
    )


class TestARetryWhileTheFirstRequestRuns:
    @pytest.fixture
    def app(
        self, app_factory: AppFactory, settings: Settings, own_mongo: ManagedServer
    ) -> tornado.web.Application:
        """The service waiting 5 s for the paused server: the first request still runs long
        after the second's answer."""
        return app_factory(
            with_settings(
                settings, mongodb_uri=mongodb_uri(own_mongo.port), mongodb_timeout_ms=5000
            )
        )

    async def test_is_told_to_come_back(
        self, api: Api, own_mongo: ManagedServer, users: Any, redis_direct: redis_sync.Redis
    ) -> None:
        headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
        assert own_mongo.process is not None
        os.kill(own_mongo.process.pid, signal.SIGSTOP)
        try:
            first = asyncio.ensure_future(api.post("/register", BODY, headers=headers))
            await claimed(redis_direct)
            second = await api.post("/register", BODY, headers=headers)
            assert not first.done(), "the first request was still running"
        finally:
            os.kill(own_mongo.process.pid, signal.SIGCONT)
        assert (second.status, second.code, second.headers["Retry-After"]) == (409, 8, "1")
        assert set(second.body["errors"]) == {"Idempotency-Key"}
        # The first ends 201 or 503 as its timeout and the resume fall; either way, the retry
        # that follows gets the account, and only one exists.
        assert (await first).status in (201, 503)
        assert (await retried(api, headers)).status == 201
        assert users.count_documents({"username": "alice"}) == 1


async def test_a_registration_with_an_address_answered_503_is_retried_safely(
    api: Api, own_mongo: ManagedServer, users: Any
) -> None:
    # The retry meets both its name and its address taken, and the server may name either
    # index (secantusdb names the address's): the account is the first attempt's either way.
    body = {**BODY, "email": "Alice@example.com"}
    first = await answered_while_paused(own_mongo, api, {}, body)
    assert (first.status, first.code) == (503, 10)
    await stored_meanwhile(users)

    retry = await retried(api, {}, body)
    assert retry.status == 201, retry.body
    stored = users.find_one({"username": "alice"})
    assert retry.body["user"]["id"] == str(stored["_id"])
    assert retry.body["user"]["email"] == "Alice@example.com"
    assert users.count_documents({"email_key": "alice@example.com"}) == 1

    taken = await api.post("/register", {**body, "username": "bob"})
    assert (taken.status, taken.body["errors"]) == (409, {"email": "is taken"})
    other = await api.post("/register", {**body, "password": "someone else's secret"})
    assert (other.status, other.code) == (409, 8), "another password still meets a taken account"
