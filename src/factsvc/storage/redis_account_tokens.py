"""Mailed account tokens in Redis: a JSON record under the hash of each token, and per user and
purpose a pointer to the user's one token, both under the user's hash tag, so that on a Redis
Cluster they share one slot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from factsvc.services.account_tokens import TokenPurpose
from factsvc.services.session_tokens import user_tag
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_errors import redis_errors

# A token's record: TOKEN_PREFIX {tag}:purpose:digest. The user's pointer, holding the digest
# of the user's live token of the purpose: POINTER_PREFIX {tag}:purpose:user id. Both end
# together (one TTL, set in one script).
TOKEN_PREFIX = "factsvc:account-token:v1:"  # noqa: S105 (a key prefix, not a secret)
POINTER_PREFIX = "factsvc:account-token-user:v1:"

# KEYS: the new token's record, the user's pointer. ARGV: the record, its TTL (seconds), the
# new token's digest, the records' key prefix for the user and purpose. The earlier record's
# key comes from the pointer, so it cannot be declared; it carries the user's hash tag (the
# prefix ends with it), so it lies in the declared keys' slot, where a Redis Cluster node lets
# a script reach it. One script, so that no spend or peek sees two live tokens of a user.
SAVE = """
local earlier = redis.call('get', KEYS[2])
if earlier and earlier ~= ARGV[3] then
    redis.call('del', ARGV[4] .. earlier)
end
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
redis.call('set', KEYS[2], ARGV[3], 'ex', ARGV[2])
return 0
"""
# KEYS: the user's pointer. ARGV: the records' key prefix for the user and purpose.
VOID = """
local current = redis.call('get', KEYS[1])
if current then
    redis.call('del', ARGV[1] .. current)
end
redis.call('del', KEYS[1])
return 0
"""


class RedisAccountTokenStore:
    """The AccountTokenStore port (services/account_tokens.py) on Redis; raises
    DependencyUnavailable when Redis fails. A spent token's pointer is left to end with its
    TTL: it then points at no record, which the next save or void treats as none."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def save(
        self,
        purpose: TokenPurpose,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
    ) -> None:
        tag, digest = _split(key)
        if tag != user_tag(user_id):
            raise ValueError("a token's key must carry its user's tag")
        keys = (_record(purpose, tag, digest), _pointer(purpose, user_id))
        args = (json.dumps(record), max(ttl_seconds, 1), digest, _record(purpose, tag, ""))
        with redis_errors:
            await self._redis.eval(SAVE, len(keys), *keys, *args)

    async def load(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        with redis_errors:
            raw = await self._redis.get(_record(purpose, *_split(key)))
        return _parsed(raw)

    async def take(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        # GETDEL (Redis 6.2): one command, so of concurrent takes one gets the record.
        with redis_errors:
            raw = await self._redis.getdel(_record(purpose, *_split(key)))
        return _parsed(raw)

    async def void(self, purpose: TokenPurpose, user_id: str) -> None:
        keys = (_pointer(purpose, user_id),)
        with redis_errors:
            await self._redis.eval(VOID, len(keys), *keys, _record(purpose, user_tag(user_id), ""))


def _parsed(raw: str | bytes | None) -> dict[str, Any] | None:
    """A stored record, or None when absent or not a JSON object."""
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _split(key: str) -> tuple[str, str]:
    """A port key's tag and digest (token_key: tag, colon, digest)."""
    tag, _, digest = key.rpartition(":")
    return tag, digest


def _record(purpose: TokenPurpose, tag: str, digest: str) -> str:
    """The Redis key of a token's record: KEYS[1] of SAVE; with an empty digest, the prefix
    SAVE and VOID complete with a pointer's digest."""
    return f"{TOKEN_PREFIX}{hash_tag(tag)}:{purpose.value}:{digest}"


def _pointer(purpose: TokenPurpose, user_id: str) -> str:
    """The Redis key of the user's pointer: KEYS[2] of SAVE, KEYS[1] of VOID."""
    return f"{POINTER_PREFIX}{hash_tag(user_tag(user_id))}:{purpose.value}:{user_id}"
