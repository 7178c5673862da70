"""MongoDB as a replica set: the suite's and `serve --embedded`'s server is one, and the account
store writes with write concern majority, retries a write whose answer was lost, reads from the
primary, and takes a wrong replica set name or a mongodb+srv:// name that does not resolve for
an outage (503, not ready), never a hang or a 500."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo import ReadPreference, WriteConcern
from pymongo.errors import ConfigurationError, ServerSelectionTimeoutError

from factsvc.app import open_services
from factsvc.config import Settings
from factsvc.embedded import (
    MONGO_REPLICA_SET,
    EmbeddedBackends,
    ManagedServer,
    mongo_server,
    mongodb_uri,
)
from factsvc.errors import DependencyUnavailable
from factsvc.services.users import NewAccount, User
from factsvc.storage import mongo
from factsvc.storage.mongo_accounts import MongoAccountStore
from tests.support.api import Api
from tests.support.faultproxy import FaultProxy, Mode
from tests.support.polling import eventually_awaited
from tests.support.servers import with_settings

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALICE = NewAccount("alice", "Alice", "f", "$2b$04$hash", NOW)


def test_the_suite_server_is_the_writable_primary_of_a_one_node_replica_set(
    mongo_backend: ManagedServer,
) -> None:
    with _client(mongodb_uri(mongo_backend.port)) as client:
        hello = client.admin.command("hello")
        assert client.topology_description.topology_type_name == "ReplicaSetWithPrimary"
    assert hello["setName"] == MONGO_REPLICA_SET
    assert hello["isWritablePrimary"] is True
    assert hello["hosts"] == [f"127.0.0.1:{mongo_backend.port}"]


def test_serve_embedded_runs_mongodb_as_a_replica_set_on_data_a_standalone_server_wrote(
    tmp_path: Path,
) -> None:
    standalone = mongo_server(tmp_path / "data" / "mongo", tmp_path)
    standalone.argv.append("--standalone")  # how the embedded default ran before
    standalone.start()
    try:
        standalone.wait_until_listening()
        with _client(f"mongodb://127.0.0.1:{standalone.port}/") as client:
            client.factsvc.users.insert_one({"username": "kept"})
    finally:
        standalone.stop()

    backends = EmbeddedBackends.start(tmp_path / "data", tmp_path, cache_max_bytes=3 << 20)
    try:
        assert backends.mongodb_uri.endswith(f"/?replicaSet={MONGO_REPLICA_SET}")
        with _client(backends.mongodb_uri) as client:
            assert client.admin.command("hello")["setName"] == MONGO_REPLICA_SET
            assert client.factsvc.users.find_one({}, {"_id": 0}) == {"username": "kept"}
    finally:
        backends.stop()


@contextlib.contextmanager
def _client(uri: str) -> Iterator[pymongo.MongoClient[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=2000
    )
    try:
        yield client
    finally:
        client.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_change_stream_opens_on_the_accounts_collection(settings: Settings) -> None:
    # A standalone server refuses: "The $changeStream stage is only supported on replica sets".
    client = mongo.make_mongo_client(settings)
    try:
        users = mongo.collection(client, settings.mongodb_name, "users")
        async with users.watch(max_await_time_ms=200) as changes:
            await MongoAccountStore(users).insert(ALICE)
            change = await changes.try_next()
    finally:
        client.close()
    assert change is not None
    assert change["operationType"] == "insert"
    assert change["fullDocument"]["username"] == "alice"


@pytest.mark.gen_test(timeout=30)
async def test_account_writes_wait_for_a_majority_and_reads_go_to_the_primary(
    settings: Settings, mongo_backend: ManagedServer
) -> None:
    # The URI's own choices are overridden: the account store does not depend on them.
    overridden = with_settings(
        settings,
        mongodb_uri=mongodb_uri(mongo_backend.port)
        + "&w=1&retryWrites=false&readPreference=secondaryPreferred",
    )
    client = mongo.make_mongo_client(overridden)
    try:
        users = mongo.collection(client, settings.mongodb_name, "users")
        assert users.write_concern == WriteConcern("majority")
        assert users.read_preference == ReadPreference.PRIMARY
        assert client.delegate.options.retry_writes is True
        assert client.delegate.options.timeout == settings.mongodb_timeout_ms / 1000

        await client[settings.mongodb_name].command("profile", 2)
        user = await MongoAccountStore(users).insert(ALICE)
        profile = client[settings.mongodb_name]["system.profile"]
        inserts = await profile.find({"op": "insert", "ns": users.full_name}).to_list(None)
    finally:
        client.close()
    assert user.username == "alice"
    [insert] = inserts
    assert insert["command"]["writeConcern"] == {"w": "majority"}
    assert "txnNumber" in insert["command"], "sent as a retryable write"


@pytest.mark.gen_test(timeout=30)
async def test_the_service_is_ready_on_the_replica_set(api: Api) -> None:
    ready = await api.get("/readyz")
    assert ready.status == 200
    assert ready.body["dependencies"]["mongodb"] == "ok"


@pytest.mark.gen_test(timeout=30)
async def test_a_uri_naming_another_replica_set_is_an_outage_within_the_timeout(
    settings: Settings, mongo_backend: ManagedServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = with_settings(
        settings, mongodb_uri=f"mongodb://127.0.0.1:{mongo_backend.port}/?replicaSet=rs0"
    )
    async with open_services(wrong) as services:
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable) as unready:
            await services.readiness.check()
        assert time.monotonic() - started < settings.readiness_timeout_seconds + 0.5
    assert unready.value.states == {"redis": "ok", "mongodb": "unavailable"}
    assert 'replica set name "rs0"' in caplog.text, "the start's warning names what is wrong"

    client = mongo.make_mongo_client(wrong)
    try:
        store = MongoAccountStore(mongo.collection(client, settings.mongodb_name, "users"))
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable) as unavailable:
            await store.find_by_username("alice")
        assert time.monotonic() - started < settings.mongodb_timeout_ms / 1000 + 0.5
    finally:
        client.close()
    assert isinstance(unavailable.value.__cause__, ServerSelectionTimeoutError)


@pytest.mark.gen_test(timeout=30)
async def test_an_srv_uri_whose_name_does_not_resolve_is_an_outage_and_the_service_starts(
    settings: Settings,
) -> None:
    # As Atlas gives them; PyMongo looks the hosts up in DNS (SRV and TXT) at the first call.
    atlas_like = with_settings(
        settings,
        mongodb_uri="mongodb+srv://cluster0.factsvc-test.invalid/?appName=factsvc",
        mongodb_timeout_ms=500,
    )
    async with open_services(atlas_like) as services:
        with pytest.raises(DependencyUnavailable) as unready:
            await services.readiness.check()
    assert unready.value.states["mongodb"] == "unavailable"

    client = mongo.make_mongo_client(atlas_like)
    try:
        store = MongoAccountStore(mongo.collection(client, settings.mongodb_name, "users"))
        with pytest.raises(DependencyUnavailable) as unavailable:
            await store.find_by_username("alice")
    finally:
        client.close()
    assert isinstance(unavailable.value.__cause__, ConfigurationError)


async def lose_the_answer_of_an_insert(
    settings: Settings, server: ManagedServer
) -> tuple[User | BaseException, list[dict[str, Any]], int]:
    """Insert ALICE through a proxy that drops the connection once the server has stored her
    and before its answer arrives, then lets new connections through. Returns the insert's
    outcome, the insert commands the server received, and how many accounts it holds."""
    direct = mongo.make_mongo_client(settings)
    users = mongo.collection(direct, settings.mongodb_name, "users")
    async with FaultProxy(server.port) as proxy:
        proxied = mongo.make_mongo_client(
            with_settings(
                settings,
                # directConnection: else the driver goes to the port the server's hello names.
                mongodb_uri=proxy.url("mongodb", "/?directConnection=true"),
                # The insert takes 2 s to arrive; its retry after the reset ends long before.
                mongodb_timeout_ms=10_000,
            )
        )
        try:
            store = MongoAccountStore(mongo.collection(proxied, settings.mongodb_name, "users"))
            await store.ensure_indexes()
            await direct[settings.mongodb_name].command("profile", 2)
            # The answer waits 2 s in the proxy after the server stored her: the reset's window.
            await proxy.set_mode(Mode.LATENCY, 2000)
            insert = asyncio.ensure_future(store.insert(ALICE))
            await eventually_awaited(  # the insert arrives 2 s on
                lambda: users.count_documents({}),
                10,
                "the insert never reached the server",
                pause=0.01,
            )
            assert not insert.done(), "the reset came before the answer"
            await proxy.set_mode(Mode.RESET)
            await proxy.set_mode(Mode.PASS)
            [outcome] = await asyncio.gather(insert, return_exceptions=True)
            profile = direct[settings.mongodb_name]["system.profile"]
            inserts = await profile.find({"op": "insert", "ns": users.full_name}).to_list(None)
            count = await users.count_documents({})
        finally:
            # Closing ends the server sessions through the proxy, which this loop serves.
            await asyncio.to_thread(proxied.close)
            direct.close()
    assert isinstance(outcome, User | BaseException)
    return outcome, inserts, count


@pytest.mark.gen_test(timeout=30)
async def test_an_insert_whose_answer_is_lost_is_sent_again_as_the_same_write_and_stored_once(
    settings: Settings, mongo_backend: ManagedServer
) -> None:
    _, inserts, count = await lose_the_answer_of_an_insert(settings, mongo_backend)
    assert len(inserts) == 2, "retried once"
    first, retry = (insert["command"] for insert in inserts)
    assert retry["txnNumber"] == first["txnNumber"]
    assert retry["documents"] == first["documents"]
    assert count == 1


@pytest.mark.gen_test(timeout=30)
async def test_an_insert_whose_answer_is_lost_answers_with_the_stored_account(
    settings: Settings, mongo_backend: ManagedServer
) -> None:
    outcome, _, count = await lose_the_answer_of_an_insert(settings, mongo_backend)
    assert isinstance(outcome, User)
    assert outcome.username == "alice"
    assert count == 1
