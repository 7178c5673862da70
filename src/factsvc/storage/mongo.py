"""The MongoDB client; every Motor import of the project lives in this module."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import (
    AsyncIOMotorClient,
    AsyncIOMotorCollection,
    AsyncIOMotorGridFSBucket,
)
from pymongo import ReadPreference, WriteConcern

from factsvc.config import Settings

MongoClient = AsyncIOMotorClient[dict[str, Any]]
MongoCollection = AsyncIOMotorCollection[dict[str, Any]]
MongoBucket = AsyncIOMotorGridFSBucket

# An account write is acknowledged once a majority of the replica set holds it, so that a
# failover cannot roll back a registration or a password change that was answered. No wtimeout:
# under timeoutMS PyMongo drops it and sends the time left as maxTimeMS instead.
WRITE_CONCERN = WriteConcern("majority")
# Reads see the last acknowledged write (a password just changed) only on the primary.
READ_PREFERENCE = ReadPreference.PRIMARY


def make_mongo_client(settings: Settings) -> MongoClient:
    """A Motor client on MONGODB_URI (mongodb:// or mongodb+srv://, standalone, replica set or
    Atlas) whose every operation, retries included, ends within MONGODB_TIMEOUT_MS (timeoutMS).

    Writes use WRITE_CONCERN and are retried once after a network error or a failover
    (retryable writes, MongoDB's "Retryable Writes" specification: the server applies a retried
    write once); reads and commands go to the primary (READ_PREFERENCE). These override the
    URI's w, retryWrites and readPreference options."""
    timeout_ms = settings.mongodb_timeout_ms
    return AsyncIOMotorClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        timeoutMS=timeout_ms,
        maxPoolSize=100,
        tz_aware=True,
        w=WRITE_CONCERN.document["w"],
        retryWrites=True,
        readPreference=READ_PREFERENCE.mongos_mode,
    )


def collection(client: MongoClient, database: str, name: str) -> MongoCollection:
    """The collection `name` of `database`, with the client's write concern and read preference."""
    return client[database][name]


def gridfs_bucket(client: MongoClient, database: str, name: str) -> MongoBucket:
    """The GridFS bucket `name` of `database` (collections `<name>.files`, `<name>.chunks`),
    with the client's write concern and read preference."""
    return AsyncIOMotorGridFSBucket(client[database], bucket_name=name)


async def ping(client: MongoClient) -> None:
    """Raises PyMongoError unless the primary answers (no primary: ServerSelectionTimeoutError
    within MONGODB_TIMEOUT_MS, e.g. when the URI names another replica set)."""
    await client.admin.command("ping", read_preference=READ_PREFERENCE)
