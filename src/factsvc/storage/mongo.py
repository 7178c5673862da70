"""The MongoDB client; every Motor import of the project lives in this package."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient

from factsvc.config import Settings


def make_mongo_client(settings: Settings) -> AsyncIOMotorClient[dict[str, Any]]:
    timeout_ms = settings.mongodb_timeout_ms
    return AsyncIOMotorClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        timeoutMS=timeout_ms,
        maxPoolSize=100,
        tz_aware=True,
    )


async def ping(client: AsyncIOMotorClient[dict[str, Any]]) -> None:
    await client.admin.command("ping")
