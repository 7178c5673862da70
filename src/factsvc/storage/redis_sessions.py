"""Sessions in Redis: JSON records under the hash of their token, a set per user, and per user
the credential fence that password changes raise."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from factsvc.services.sessions import Fence
from factsvc.storage.redis_client import RedisClient
from factsvc.storage.redis_errors import redis_errors

SESSION_PREFIX = "factsvc:session:v1:"
USER_INDEX_PREFIX = "factsvc:user-sessions:v1:"
FENCE_PREFIX = "factsvc:credential-fence:v1:"
CHANGE_PREFIX = "factsvc:credential-change:v1:"

# Lua runs atomically: no password change can retire a credential between the fence check and
# the write, so a session is either refused here or listed in time for RETIRE to end it.
SAVE = """
local fence = tonumber(redis.call('get', KEYS[3]))
if fence and fence > tonumber(ARGV[4]) then
    return {fence, redis.call('exists', KEYS[4])}
end
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
redis.call('sadd', KEYS[2], ARGV[5])
redis.call('expire', KEYS[2], ARGV[3])
return 0
"""
# The session keys come from the index, so they cannot be declared as KEYS: fine on one Redis
# (the service's deployment), and the per-user keys share no hash slot for a cluster anyway.
RETIRE = """
local fence = tonumber(redis.call('get', KEYS[2])) or 0
redis.call('set', KEYS[2], math.max(fence, tonumber(ARGV[1])), 'ex', ARGV[2])
redis.call('set', KEYS[3], '1', 'px', ARGV[3])
for _, member in ipairs(redis.call('smembers', KEYS[1])) do
    redis.call('del', ARGV[4] .. member)
end
redis.call('del', KEYS[1])
return 0
"""


class RedisSessionStore:
    """The SessionStore port (services/sessions.py) on Redis; raises DependencyUnavailable
    when Redis fails."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def save(
        self,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        index_ttl: int,
        credential_version: int = 0,
    ) -> Fence | None:
        keys = (SESSION_PREFIX + key, *_user_keys(user_id))
        args = (json.dumps(record), max(ttl_seconds, 1), index_ttl, credential_version, key)
        with redis_errors:
            refused = await self._redis.eval(SAVE, len(keys), *keys, *args)
        if not isinstance(refused, list):
            return None
        version, changing = refused
        return Fence(int(version), bool(changing))

    async def retire_credentials(
        self, user_id: str, version: int, ttl_seconds: int, change_ms: int
    ) -> None:
        keys = _user_keys(user_id)
        args = (version, max(ttl_seconds, 1), max(change_ms, 1), SESSION_PREFIX)
        with redis_errors:
            await self._redis.eval(RETIRE, len(keys), *keys, *args)

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


def _user_keys(user_id: str) -> tuple[str, str, str]:
    """The user's session index, credential fence and change marker: KEYS[2] to KEYS[4] of
    SAVE, and the KEYS of RETIRE."""
    return USER_INDEX_PREFIX + user_id, FENCE_PREFIX + user_id, CHANGE_PREFIX + user_id
