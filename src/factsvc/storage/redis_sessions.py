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

# A user's index lists the digests of the user's sessions; its members whose session has ended
# (expired, or evicted by a maxmemory policy) are removed by SAVE and LIST, and DELETE_OTHERS
# and RETIRE remove all but one or all, so that it holds no ended session after a login, a
# listing or a revoke, and never more than the live sessions plus those ended since. The
# session keys come from the index, so they cannot be declared as KEYS; they carry the user's
# hash tag (the prefix argument ends with it), so they lie in the slot of the declared keys,
# where a Redis Cluster node lets a script reach them. Defines live(index, prefix): the live
# members as {member, milliseconds left} pairs.
LIVE = """
local function live(index, prefix)
    local found = {}
    for _, member in ipairs(redis.call('smembers', index)) do
        local left = redis.call('pttl', prefix .. member)
        if left == -2 then
            redis.call('srem', index, member)
        else
            table.insert(found, {member, left})
        end
    end
    return found
end
"""
# Lua runs atomically: no password change can retire a credential between the fence check and
# the write, so a session is either refused here or listed in time for RETIRE to end it.
# KEYS: the session, the user's index, fence and change marker (one hash tag, so one slot).
# ARGV: the record, its TTL, the index's TTL, the credential version, the session's member in
# the index, the most sessions the user may keep (0: no bound), the sessions' key prefix.
# Over the bound, the sessions that would end soonest end now to make room.
SAVE = (
    LIVE
    + """
local fence = tonumber(redis.call('get', KEYS[3]))
if fence and fence > tonumber(ARGV[4]) then
    return {fence, redis.call('exists', KEYS[4])}
end
local others = {}
for _, found in ipairs(live(KEYS[2], ARGV[7])) do
    if found[1] ~= ARGV[5] then
        table.insert(others, found)
    end
end
local most = tonumber(ARGV[6])
if most > 0 and #others >= most then
    table.sort(others, function(a, b) return a[2] < b[2] end)
    for i = 1, #others - most + 1 do
        redis.call('del', ARGV[7] .. others[i][1])
        redis.call('srem', KEYS[2], others[i][1])
    end
end
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
redis.call('sadd', KEYS[2], ARGV[5])
redis.call('expire', KEYS[2], ARGV[3])
return 0
"""
)
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
# KEYS: the session, the user's index; ARGV: the session's member in the index. Answers 1 when
# the session was live.
DELETE = """
local ended = redis.call('del', KEYS[1])
redis.call('srem', KEYS[2], ARGV[1])
return ended
"""
# KEYS: the user's index; ARGV: the sessions' key prefix. Answers member, record, member,
# record... of the live sessions.
LIST = (
    LIVE
    + """
local answer = {}
for _, found in ipairs(live(KEYS[1], ARGV[1])) do
    local record = redis.call('get', ARGV[1] .. found[1])
    if record then
        table.insert(answer, found[1])
        table.insert(answer, record)
    end
end
return answer
"""
)
# KEYS: the user's index; ARGV: the sessions' key prefix, the member of the session to keep.
# Answers how many live sessions it ended.
DELETE_OTHERS = """
local ended = 0
for _, member in ipairs(redis.call('smembers', KEYS[1])) do
    if member ~= ARGV[2] then
        ended = ended + redis.call('del', ARGV[1] .. member)
        redis.call('srem', KEYS[1], member)
    end
end
return ended
"""
# KEYS: the session; ARGV: the record as the caller last read it, the new record. Overwrites
# the record, keeping its TTL, only while it is still the one read: a concurrent writer's
# record is never lost to an older copy.
REPLACE_IF = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
    return 0
end
redis.call('set', KEYS[1], ARGV[2], 'keepttl')
return 1
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
        *,
        max_sessions: int = 0,
    ) -> Fence | None:
        tag, digest = _split(key)
        if tag != user_tag(user_id):
            raise ValueError("a session's key must carry its user's tag")
        keys = (_session(tag, digest), *_user_keys(user_id))
        args = (
            json.dumps(record),
            max(ttl_seconds, 1),
            index_ttl,
            credential_version,
            digest,
            max(max_sessions, 0),
            _session(tag, ""),
        )
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
        return None if raw is None else _parsed(raw)

    async def replace(self, key: str, record: Mapping[str, Any]) -> None:
        with redis_errors:
            await self._redis.set(_session(*_split(key)), json.dumps(record), xx=True, keepttl=True)

    async def replace_if(
        self, key: str, expected: Mapping[str, Any], record: Mapping[str, Any]
    ) -> bool:
        # The stored text is json.dumps of a record, and load's json.loads gives it back
        # unchanged (dicts keep their order, floats their repr), so dumping `expected` again
        # gives the stored text while nobody has written since.
        keys = (_session(*_split(key)),)
        with redis_errors:
            replaced = await self._redis.eval(
                REPLACE_IF, len(keys), *keys, json.dumps(expected), json.dumps(record)
            )
        return bool(replaced)

    async def expire(self, key: str, ttl_seconds: int) -> None:
        with redis_errors:
            await self._redis.expire(_session(*_split(key)), max(ttl_seconds, 1))

    async def delete(self, key: str, user_id: str) -> bool:
        tag, digest = _split(key)
        keys = (_session(tag, digest), _user_keys(user_id)[0])
        with redis_errors:
            return bool(await self._redis.eval(DELETE, len(keys), *keys, digest))

    async def sessions_of(self, user_id: str) -> dict[str, Mapping[str, Any]]:
        tag = user_tag(user_id)
        keys = _user_keys(user_id)[:1]
        with redis_errors:
            found = await self._redis.eval(LIST, len(keys), *keys, _session(tag, ""))
        records: dict[str, Mapping[str, Any]] = {}
        for digest, raw in zip(found[::2], found[1::2], strict=True):
            record = _parsed(raw)
            if record is not None:
                records[f"{tag}:{_text(digest)}"] = record
        return records

    async def delete_others(self, user_id: str, keep: str) -> int:
        tag, digest = _split(keep)
        keys = _user_keys(user_id)[:1]
        args = (_session(user_tag(user_id), ""), digest if tag == user_tag(user_id) else "")
        with redis_errors:
            return int(await self._redis.eval(DELETE_OTHERS, len(keys), *keys, *args))


def _parsed(raw: str | bytes) -> dict[str, Any] | None:
    """A stored record, or None when it is not a JSON object."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
