"""The MongoDB client; every Motor import of the project lives in this module."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection

from factsvc.config import Settings

MongoClient = AsyncIOMotorClient[dict[str, Any]]
MongoCollection = AsyncIOMotorCollection[dict[str, Any]]


def make_mongo_client(settings: Settings) -> MongoClient:
    timeout_ms = settings.mongodb_timeout_ms
    return AsyncIOMotorClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        timeoutMS=timeout_ms,
        maxPoolSize=100,
        tz_aware=True,
    )


def collection(client: MongoClient, database: str, name: str) -> MongoCollection:
    return client[database][name]


async def ping(client: MongoClient) -> None:
    await client.admin.command("ping")
