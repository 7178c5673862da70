"""Sessions in Redis: JSON records under the hash of their token, a set per user, and per user
the credential fence that password changes raise; all of a user's keys under the user's hash
tag, so that on a Redis Cluster they share one slot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from factsvc.services.sessions import Fence, user_tag
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_errors import redis_errors

# v2: every key carries its user's hash tag, {user_tag}; v1's keys (and tokens) are unknown.
SESSION_PREFIX = "factsvc:session:v2:"
USER_INDEX_PREFIX = "factsvc:user-sessions:v2:"
FENCE_PREFIX = "factsvc:credential-fence:v2:"
CHANGE_PREFIX = "factsvc:credential-change:v2:"

# Lua runs atomically: no password change can retire a credential between the fence check and
# the write, so a session is either refused here or listed in time for RETIRE to end it.
# KEYS: the session, the user's index, fence and change marker (one hash tag, so one slot).
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
# The session keys come from the index, so they cannot be declared as KEYS; they carry the
# user's hash tag (ARGV[4] ends with it), so they lie in the slot of the declared keys, where a
# Redis Cluster node lets a script reach them.
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
# KEYS: the session, the user's index; ARGV: the session's member in the index.
DELETE = """
redis.call('del', KEYS[1])
redis.call('srem', KEYS[2], ARGV[1])
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
        tag, digest = _split(key)
        if tag != user_tag(user_id):
            raise ValueError("a session's key must carry its user's tag")
        keys = (_session(tag, digest), *_user_keys(user_id))
        args = (json.dumps(record), max(ttl_seconds, 1), index_ttl, credential_version, digest)
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
        args = (version, max(ttl_seconds, 1), max(change_ms, 1), _session(user_tag(user_id), ""))
        with redis_errors:
            await self._redis.eval(RETIRE, len(keys), *keys, *args)

    async def load(self, key: str, idle_seconds: int) -> Mapping[str, Any] | None:
        with redis_errors:
            raw = await self._redis.getex(_session(*_split(key)), ex=idle_seconds)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        with redis_errors:
            await self._redis.set(_session(*_split(key)), json.dumps(record), xx=True, keepttl=True)

    async def expire(self, key: str, ttl_seconds: int) -> None:
        with redis_errors:
            await self._redis.expire(_session(*_split(key)), max(ttl_seconds, 1))

    async def delete(self, key: str, user_id: str) -> None:
        tag, digest = _split(key)
        keys = (_session(tag, digest), _user_keys(user_id)[0])
        with redis_errors:
            await self._redis.eval(DELETE, len(keys), *keys, digest)


def _split(key: str) -> tuple[str, str]:
    """A port key's tag and digest (services/sessions.py's session_key: tag, colon, digest)."""
    tag, _, digest = key.rpartition(":")
    return tag, digest


def _tagged(tag: str, name: str) -> str:
    return hash_tag(tag) + ":" + name


def _session(tag: str, digest: str) -> str:
    """The Redis key of a session: KEYS[1] of SAVE and DELETE."""
    return SESSION_PREFIX + _tagged(tag, digest)


def _user_keys(user_id: str) -> tuple[str, str, str]:
    """The user's session index, credential fence and change marker: KEYS[2] to KEYS[4] of
    SAVE, and the KEYS of RETIRE."""
    tagged = _tagged(user_tag(user_id), user_id)
    return USER_INDEX_PREFIX + tagged, FENCE_PREFIX + tagged, CHANGE_PREFIX + tagged
