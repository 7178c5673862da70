"""Sessions in Redis: JSON records under the hash of their token, and a set per user."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from factsvc.storage.redis_errors import redis_errors

SESSION_PREFIX = "factsvc:session:v1:"
USER_INDEX_PREFIX = "factsvc:user-sessions:v1:"


class RedisSessionStore:
    """The SessionStore port (services/sessions.py) on Redis; raises DependencyUnavailable
    when Redis fails."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(
        self, key: str, user_id: str, record: Mapping[str, Any], ttl_seconds: int, index_ttl: int
    ) -> None:
        index = USER_INDEX_PREFIX + user_id
        with redis_errors:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(SESSION_PREFIX + key, json.dumps(record), ex=max(ttl_seconds, 1))
                pipe.sadd(index, key)
                pipe.expire(index, index_ttl)
                await pipe.execute()

    async def load(self, key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        with redis_errors:
            raw = await self._redis.getex(SESSION_PREFIX + key, ex=idle_seconds)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        with redis_errors:
            await self._redis.set(SESSION_PREFIX + key, json.dumps(record), xx=True, keepttl=True)

    async def expire(self, key: str, ttl_seconds: int) -> None:
        with redis_errors:
            await self._redis.expire(SESSION_PREFIX + key, max(ttl_seconds, 1))

    async def delete(self, key: str, user_id: str) -> None:
        with redis_errors:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(SESSION_PREFIX + key)
                pipe.srem(USER_INDEX_PREFIX + user_id, key)
                await pipe.execute()

    async def delete_all_for_user(self, user_id: str) -> None:
        index = USER_INDEX_PREFIX + user_id
        with redis_errors:
            doomed = [
                m.decode() if isinstance(m, bytes) else str(m)
                for m in await self._redis.smembers(index)
            ]
            if doomed:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.delete(*(SESSION_PREFIX + m for m in doomed))
                    pipe.srem(index, *doomed)
                    await pipe.execute()
