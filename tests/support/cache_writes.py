"""Waiting, in a test whose app shares its loop, for a computed value to reach Redis."""

from __future__ import annotations

import asyncio

import redis as redis_sync

# Values are written after the answer, in the background: within milliseconds on an idle
# machine.
WAIT_SECONDS = 10.0


async def written_back(redis: redis_sync.Redis, key: str) -> None:
    """Return once `key` is in `redis`; AssertionError if it is not within WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not redis.exists(key):
        assert loop.time() < deadline, f"{key} never reached Redis"
        await asyncio.sleep(0.05)  # the service shares this loop: let it write
