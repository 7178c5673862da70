"""Waiting, in a test whose app shares its loop, for computed values to reach Redis."""

from __future__ import annotations

from typing import cast

import redis as redis_sync

from tests.support.polling import eventually_async

# Values are written after the answer, in the background: within milliseconds on an idle
# machine.
WAIT_SECONDS = 10.0


async def written_back(
    redis: redis_sync.Redis, pattern: str, count: int = 1, within: float = WAIT_SECONDS
) -> list[bytes]:
    """The keys matching `pattern` (a KEYS pattern, or one key) in `redis`, once there are
    `count` or more; AssertionError if there are not within `within` seconds. The keys are
    bytes: the test clients do not decode responses."""

    def found() -> list[bytes]:
        keys = cast(list[bytes], redis.keys(pattern))
        return keys if len(keys) >= count else []

    return await eventually_async(found, within, f"fewer than {count} {pattern} in Redis")
