"""Every command and script of the Redis adapters touches keys of one hash slot, so that each
runs on a Redis Cluster (no CROSSSLOT): checked here without a cluster, by recording the keys
each adapter sends and computing their slots as redis-py does (redis.crc.key_slot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from redis.crc import key_slot

from factsvc.services.idempotency import Quota
from factsvc.services.sessions import session_key, user_tag
from factsvc.storage.redis_bounded_cache import BoundedRedisFactorialCache
from factsvc.storage.redis_cache import KEY_PREFIX, RedisFactorialCache
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_idempotency import RedisIdempotencyStore
from factsvc.storage.redis_sessions import DELETE_OTHERS, LIST, RETIRE, SAVE, RedisSessionStore

pytestmark = pytest.mark.gen_test(timeout=10)


@dataclass
class Call:
    """One command or script as the adapter sent it: its declared keys and its arguments."""

    name: str
    keys: list[str]
    args: list[Any] = field(default_factory=list)


class RecordingRedis:
    """Takes the calls an adapter makes, and answers every script with `answer`."""

    def __init__(self, answer: Any = 0) -> None:
        self.calls: list[Call] = []
        self._answer = answer

    async def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        keys = [str(key) for key in keys_and_args[:numkeys]]
        self.calls.append(Call(script, keys, list(keys_and_args[numkeys:])))
        return self._answer

    def answering(self, answer: Any) -> RecordingRedis:
        """Itself, answering every later script with `answer`."""
        self._answer = answer
        return self

    def register_script(self, script: str) -> Any:
        async def run(keys: Sequence[str] = (), args: Sequence[Any] = ()) -> Any:
            return await self.eval(script, len(keys), *keys, *args)

        return run

    async def _command(self, name: str, key: str) -> None:
        self.calls.append(Call(name, [key]))

    async def get(self, key: str) -> None:
        await self._command("get", key)

    async def getex(self, key: str, **_: Any) -> None:
        await self._command("getex", key)

    async def set(self, key: str, *_: Any, **__: Any) -> None:
        await self._command("set", key)

    async def expire(self, key: str, *_: Any) -> None:
        await self._command("expire", key)

    async def delete(self, *keys: str) -> None:
        self.calls.append(Call("delete", list(keys)))


def slots(keys: Sequence[str]) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


def assert_each_call_in_one_slot(calls: Sequence[Call]) -> None:
    assert calls
    for call in calls:
        assert len(slots(call.keys)) == 1, f"{call.name[:60]!r} spans slots: {call.keys}"


def adapter(kind: type[Any], redis: RecordingRedis, **options: Any) -> Any:
    return kind(cast(Any, redis), **options)


USERS = [f"{number:024x}" for number in range(0, 4000, 97)]


async def test_a_users_sessions_index_fence_and_marker_share_one_slot() -> None:
    for user_id in USERS:
        redis = RecordingRedis()
        store = adapter(RedisSessionStore, redis)
        key = session_key("A" * 43 + user_tag(user_id))
        await store.save(key, user_id, {}, 60, 3600, 1)
        await store.load(key, 60)
        await store.replace(key, {})
        await store.expire(key, 60)
        await store.replace_if(key, {}, {})
        await store.delete(key, user_id)
        await store.delete_others(user_id, key)
        await store.retire_credentials(user_id, 2, 3600, 1000)
        # [] as the list of sessions (member, record, ...): none.
        await adapter(RedisSessionStore, redis.answering([])).sessions_of(user_id)
        assert_each_call_in_one_slot(redis.calls)
        every_key = [key for call in redis.calls for key in call.keys]
        assert len(slots(every_key)) == 1, "a user's keys all lie in one slot"
        (retire,) = [call for call in redis.calls if call.name == RETIRE]
        # The scripts reach the sessions they find in the index under this prefix (RETIRE's
        # fourth argument, the others' first or last): their slot too.
        session_prefix = retire.args[3]
        assert slots([session_prefix + "0" * 64]) == slots(every_key)
        for call in redis.calls:
            if call.name in (SAVE, LIST, DELETE_OTHERS):
                assert session_prefix in (call.args[0], call.args[-1]), call.name[:60]


async def test_a_limits_count_leases_and_lapsed_leases_share_one_slot() -> None:
    for subject in ("login-account:" + "ab" * 32, "login-client:" + "cd" * 32, "x"):
        # [1, 0]: what hit answers (a count, seconds left) and reserve ("busy", 0) alike.
        redis = RecordingRedis([1, 0])
        store = adapter(RedisCounterStore, redis)
        await store.hit(subject, 60)
        await store.reserve(subject, "lease", max_failures=3, lease_seconds=60, window_seconds=60)
        await store.settle(subject, "lease", failed=True, window_seconds=60)
        await store.reset(subject)
        assert_each_call_in_one_slot(redis.calls)
        assert len(slots([key for call in redis.calls for key in call.keys])) == 1


async def test_an_idempotency_record_and_its_scope_share_one_slot() -> None:
    for scope in ("0f" * 32, "scope-a", "e1" * 32):
        redis = RecordingRedis(None)
        store = adapter(RedisIdempotencyStore, redis)
        quota = Quota(scope, 5)
        for name in ("k1", "c2" * 32):
            key = f"{scope}:{name}"
            await store.claim(key, {"state": "pending"}, 60, quota)
            await store.settle(key, {"state": "pending"}, {"state": "done"}, 60, quota)
            await store.load(key)
        assert_each_call_in_one_slot(redis.calls)
        assert len(slots([key for call in redis.calls for key in call.keys])) == 1


async def test_the_bounded_caches_values_and_index_share_one_slot() -> None:
    redis = RecordingRedis(None)
    cache = adapter(BoundedRedisFactorialCache, redis, ttl_seconds=60, max_bytes=1 << 20)
    for n in (0, 1, 12, 99_999):
        await cache.get(n)
        await cache.set(n, "1")
    await cache.used_bytes()
    assert_each_call_in_one_slot(redis.calls)
    every_key = [key for call in redis.calls for key in call.keys]
    # WRITE evicts the values it finds in the index, by KEY_PREFIX: their slot too.
    assert len(slots([*every_key, KEY_PREFIX + "123"])) == 1


async def test_the_plain_caches_values_spread_over_the_slots() -> None:
    redis = RecordingRedis(None)
    cache = adapter(RedisFactorialCache, redis, ttl_seconds=60)
    for n in range(1000):
        await cache.get(n)
        await cache.set(n, "1")
    assert_each_call_in_one_slot(redis.calls)
    # A cache server that is a Redis Cluster shares its values among its masters.
    assert len(slots([key for call in redis.calls for key in call.keys])) > 900


def test_a_broken_colocation_is_caught() -> None:
    with pytest.raises(AssertionError, match="spans slots"):
        assert_each_call_in_one_slot([Call("x", ["factsvc:a:{u1}", "factsvc:b:{u2}"])])
