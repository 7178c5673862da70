"""The SessionStore port: FakeSessionStore and RedisSessionStore pass the same checks. Records
here are any JSON object: what a session record holds is services/sessions.py's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from factsvc.errors import DependencyUnavailable
from factsvc.services.sessions import Fence, SessionStore, user_tag
from factsvc.storage.redis_client import RedisClient, hash_tag
from factsvc.storage.redis_sessions import USER_INDEX_PREFIX, RedisSessionStore
from tests.contract.subjects import (
    LIVE_REDIS,
    REDIS_SUBJECTS,
    ManualClock,
    Subject,
    redis_subject,
    user_key,
)
from tests.support.fake_redis_stores import FakeSessionStore

pytestmark = pytest.mark.gen_test(timeout=30)

RECORD = {"user_id": "u1", "created_at": 1767322800.5, "user": {"v": 1, "name": "Ünïcode"}}
NEWER = {**RECORD, "user": {"v": 1, "name": "newer"}}
DAY = 86_400


K1, K2, K3, K4 = (user_key("u1", f"k{number}") for number in range(1, 5))
UNKNOWN = user_key("u1", "unknown")
THEIRS = user_key("u2", "theirs")


@pytest.fixture(params=REDIS_SUBJECTS)
def sessions(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[SessionStore]:
    return redis_subject(request, clock, FakeSessionStore, RedisSessionStore)


Index = Callable[[str], Awaitable[int]]


@pytest.fixture
def index_size(sessions: Subject[SessionStore], request: pytest.FixtureRequest) -> Index:
    """How many sessions, ended ones included, the store lists under a user: what the port
    does not show, read from the fake's index or from Redis itself."""
    store = sessions.store
    if isinstance(store, FakeSessionStore):
        fake = store

        async def fake_size(user_id: str) -> int:
            return len(fake.by_user.get(user_id, ()))

        return fake_size
    redis: RedisClient = request.getfixturevalue(
        LIVE_REDIS[request.node.callspec.params["sessions"]]
    )

    async def redis_size(user_id: str) -> int:
        tagged = hash_tag(user_tag(user_id)) + ":" + user_id
        return int(await redis.scard(USER_INDEX_PREFIX + tagged))

    return redis_size


async def test_a_saved_record_loads_back_equal(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    assert await sessions.store.load(K1, 60) == RECORD
    assert await sessions.store.load(UNKNOWN, 60) is None


async def test_a_record_ends_when_its_ttl_runs_out(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    await sessions.wait(1.1)
    assert await sessions.store.load(K1, 60) is None


async def test_a_ttl_under_one_second_still_saves_the_record(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 0, DAY)
    assert await sessions.store.load(K1, 60) == RECORD


async def test_each_load_restarts_the_idle_timer(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    await sessions.wait(0.6)
    assert await sessions.store.load(K1, 3) == RECORD
    await sessions.wait(0.6)
    assert await sessions.store.load(K1, 3) == RECORD, "alive past the first TTL"


async def test_expire_shortens_the_life_of_a_record_and_creates_none(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.expire(K1, 1)
    await sessions.store.expire(UNKNOWN, 60)
    await sessions.wait(1.1)
    assert await sessions.store.load(K1, 60) is None
    assert await sessions.store.load(UNKNOWN, 60) is None


async def test_replace_overwrites_a_live_record(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.replace(K1, NEWER)
    assert await sessions.store.load(K1, 60) == NEWER


async def test_replace_keeps_the_records_ttl(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    await sessions.store.replace(K1, NEWER)
    await sessions.wait(1.1)
    assert await sessions.store.load(K1, 60) is None


async def test_replace_never_brings_back_an_ended_record(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.delete(K1, "u1")
    await sessions.store.replace(K1, NEWER)
    await sessions.store.replace(user_key("u1", "never-saved"), NEWER)
    assert await sessions.store.load(K1, 60) is None
    assert await sessions.store.load(user_key("u1", "never-saved"), 60) is None


async def test_delete_ends_that_record_only(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.save(K2, "u1", RECORD, 60, DAY)
    await sessions.store.delete(K1, "u1")
    await sessions.store.delete(UNKNOWN, "u1")
    assert await sessions.store.load(K1, 60) is None
    assert await sessions.store.load(K2, 60) == RECORD


async def test_every_call_fails_as_dependency_unavailable_without_the_backend(
    sessions: Subject[SessionStore],
) -> None:
    store = sessions.cut_off
    with pytest.raises(DependencyUnavailable) as raised:
        await store.save(K1, "u1", RECORD, 60, DAY)
    assert raised.value.states == {"redis": "unavailable"}
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.load(K1, 60),
        lambda: store.replace(K1, NEWER),
        lambda: store.expire(K1, 60),
        lambda: store.delete(K1, "u1"),
    ]
    for call in calls:
        with pytest.raises(DependencyUnavailable):
            await call()


CHANGE_MS = 60_000


async def test_retiring_credentials_ends_the_users_sessions_and_refuses_older_versions(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY, 0)
    await sessions.store.save(THEIRS, "u2", RECORD, 60, DAY, 0)
    await sessions.store.retire_credentials("u1", 1, DAY, CHANGE_MS)
    assert await sessions.store.load(K1, 60) is None
    assert await sessions.store.save(K2, "u1", RECORD, 60, DAY, 0) == Fence(1, changing=True)
    assert await sessions.store.load(K2, 60) is None, "a refused record is not stored"
    assert await sessions.store.save(K3, "u1", RECORD, 60, DAY, 1) is None
    assert await sessions.store.load(K3, 60) == RECORD
    assert await sessions.store.load(THEIRS, 60) == RECORD, "other users keep their sessions"
    assert await sessions.store.save(user_key("u2", "k4"), "u2", RECORD, 60, DAY, 0) is None


async def test_a_refused_record_is_not_listed_for_a_later_retirement(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.retire_credentials("u1", 1, DAY, CHANGE_MS)
    assert await sessions.store.save(K1, "u1", RECORD, 60, DAY, 0) is not None
    await sessions.store.save(K2, "u1", RECORD, 60, DAY, 1)
    await sessions.store.retire_credentials("u1", 2, DAY, CHANGE_MS)
    assert await sessions.store.save(K3, "u1", RECORD, 60, DAY, 1) == Fence(2, changing=True)
    assert await sessions.store.load(K2, 60) is None
    assert await sessions.store.save(K4, "u1", RECORD, 60, DAY, 2) is None


async def test_the_change_marker_ends_after_its_milliseconds_and_the_fence_stays(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.retire_credentials("u1", 1, DAY, 300)
    await sessions.wait(0.5)
    assert await sessions.store.save(K1, "u1", RECORD, 60, DAY, 0) == Fence(1, changing=False)
    assert await sessions.store.load(K1, 60) is None


async def test_a_fence_is_never_lowered(sessions: Subject[SessionStore]) -> None:
    await sessions.store.retire_credentials("u1", 3, DAY, CHANGE_MS)
    await sessions.store.retire_credentials("u1", 2, DAY, CHANGE_MS)
    assert await sessions.store.save(K1, "u1", RECORD, 60, DAY, 2) == Fence(3, changing=True)
    assert await sessions.store.save(K2, "u1", RECORD, 60, DAY, 3) is None


async def test_a_fence_ends_after_its_ttl(sessions: Subject[SessionStore]) -> None:
    await sessions.store.retire_credentials("u1", 1, 1, 100)
    await sessions.wait(1.1)
    assert await sessions.store.save(K1, "u1", RECORD, 60, DAY, 0) is None
    assert await sessions.store.load(K1, 60) == RECORD


async def test_retiring_and_fenced_saves_fail_as_dependency_unavailable_without_the_backend(
    sessions: Subject[SessionStore],
) -> None:
    with pytest.raises(DependencyUnavailable):
        await sessions.cut_off.retire_credentials("u1", 1, DAY, CHANGE_MS)
    with pytest.raises(DependencyUnavailable):
        await sessions.cut_off.save(K1, "u1", RECORD, 60, DAY, 1)


async def test_a_key_without_its_users_tag_is_refused(sessions: Subject[SessionStore]) -> None:
    with pytest.raises(ValueError, match="tag"):
        await sessions.store.save(THEIRS, "u1", RECORD, 60, DAY)
    assert await sessions.store.load(THEIRS, 60) is None


async def test_a_users_sessions_are_listed_with_their_records(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.save(K2, "u1", NEWER, 60, DAY)
    await sessions.store.save(THEIRS, "u2", RECORD, 60, DAY)
    assert await sessions.store.sessions_of("u1") == {K1: RECORD, K2: NEWER}
    assert await sessions.store.sessions_of("u3") == {}


async def test_ended_sessions_are_not_listed_and_leave_the_index(
    sessions: Subject[SessionStore], index_size: Index
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    await sessions.store.save(K2, "u1", RECORD, 60, DAY)
    await sessions.store.save(K3, "u1", RECORD, 60, DAY)
    await sessions.store.delete(K3, "u1")
    await sessions.wait(1.1)
    assert await index_size("u1") == 2, "listed until pruned"
    assert await sessions.store.sessions_of("u1") == {K2: RECORD}
    assert await index_size("u1") == 1


async def test_a_save_prunes_the_ended_sessions_from_the_index(
    sessions: Subject[SessionStore], index_size: Index
) -> None:
    for name in ("a", "b", "c"):
        await sessions.store.save(user_key("u1", name), "u1", RECORD, 1, DAY)
    await sessions.wait(1.1)
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    assert await index_size("u1") == 1


async def test_a_save_beyond_the_bound_ends_the_sessions_nearest_their_end(
    sessions: Subject[SessionStore], index_size: Index
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 50, DAY, max_sessions=3)
    await sessions.store.save(K2, "u1", RECORD, 30, DAY, max_sessions=3)
    await sessions.store.save(K3, "u1", RECORD, 40, DAY, max_sessions=3)
    await sessions.store.save(THEIRS, "u2", RECORD, 10, DAY, max_sessions=3)
    await sessions.store.save(K4, "u1", RECORD, 60, DAY, max_sessions=3)
    assert set(await sessions.store.sessions_of("u1")) == {K1, K3, K4}
    assert await sessions.store.load(K2, 60) is None
    await sessions.store.save(user_key("u1", "k5"), "u1", RECORD, 60, DAY, max_sessions=1)
    assert set(await sessions.store.sessions_of("u1")) == {user_key("u1", "k5")}
    assert await index_size("u1") == 1
    assert await sessions.store.load(THEIRS, 60) == RECORD, "another user's are not counted"


async def test_a_save_refused_by_the_fence_ends_no_session(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.retire_credentials("u1", 1, DAY, CHANGE_MS)
    await sessions.store.save(K1, "u1", RECORD, 60, DAY, 1, max_sessions=1)
    assert await sessions.store.save(K2, "u1", RECORD, 60, DAY, 0, max_sessions=1) is not None
    assert set(await sessions.store.sessions_of("u1")) == {K1}


async def test_delete_tells_whether_the_session_was_live(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    assert await sessions.store.delete(K1, "u1") is True
    assert await sessions.store.delete(K1, "u1") is False
    assert await sessions.store.delete(UNKNOWN, "u1") is False


async def test_delete_others_ends_every_session_of_the_user_but_the_one_kept(
    sessions: Subject[SessionStore], index_size: Index
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 60, DAY)
    await sessions.store.save(K2, "u1", RECORD, 60, DAY)
    await sessions.store.save(K3, "u1", RECORD, 1, DAY)
    await sessions.store.save(THEIRS, "u2", RECORD, 60, DAY)
    await sessions.wait(1.1)
    assert await sessions.store.delete_others("u1", K1) == 1, "K3 had ended already"
    assert await sessions.store.sessions_of("u1") == {K1: RECORD}
    assert await index_size("u1") == 1
    assert await sessions.store.load(THEIRS, 60) == RECORD
    assert await sessions.store.delete_others("u2", K1) == 1, "a key not theirs keeps nothing"
    assert await sessions.store.load(THEIRS, 60) is None


async def test_replace_if_overwrites_only_the_record_it_was_given(
    sessions: Subject[SessionStore],
) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    loaded = await sessions.store.load(K1, 1)
    assert loaded is not None
    assert await sessions.store.replace_if(K1, loaded, NEWER) is True
    assert await sessions.store.replace_if(K1, loaded, RECORD) is False, "no longer the one read"
    assert await sessions.store.load(K1, 1) == NEWER
    await sessions.wait(1.1)
    assert await sessions.store.replace_if(K1, NEWER, RECORD) is False, "it had ended"
    assert await sessions.store.load(K1, 60) is None


async def test_replace_if_keeps_the_records_ttl(sessions: Subject[SessionStore]) -> None:
    await sessions.store.save(K1, "u1", RECORD, 1, DAY)
    assert await sessions.store.replace_if(K1, RECORD, NEWER) is True
    await sessions.wait(1.1)
    assert await sessions.store.load(K1, 60) is None


async def test_listing_and_ending_fail_as_dependency_unavailable_without_the_backend(
    sessions: Subject[SessionStore],
) -> None:
    store = sessions.cut_off
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.sessions_of("u1"),
        lambda: store.delete_others("u1", K1),
        lambda: store.replace_if(K1, RECORD, NEWER),
    ]
    for call in calls:
        with pytest.raises(DependencyUnavailable):
            await call()
