"""The AvatarStore port: FakeAvatarStore and MongoAvatarStore (GridFS) pass the same checks."""

from __future__ import annotations

import os

import pytest

from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable
from factsvc.services.avatar_store import AVATAR_ID, AvatarFile, AvatarStore
from factsvc.storage.mongo import MongoClient
from factsvc.storage.mongo_avatars import MongoAvatarStore
from tests.contract.subjects import ManualClock, Subject, fake_subject, real_subject
from tests.support.fake_avatar_store import FakeAvatarStore

pytestmark = pytest.mark.gen_test(timeout=30)

WEBP = "image/webp"
ALICE, BOB = "0123456789abcdef01234567", "0123456789abcdef01234568"
ABSENT_ID = "0" * 32  # well formed, never given out


@pytest.fixture(params=["fake", "mongodb"])
def avatars(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[AvatarStore]:
    if request.param == "fake":
        cut_off = FakeAvatarStore()
        cut_off.available = False
        return fake_subject(FakeAvatarStore(), cut_off, clock)
    settings: Settings = request.getfixturevalue("settings")
    live: MongoClient = request.getfixturevalue("live_mongo")
    dead: MongoClient = request.getfixturevalue("dead_mongo")
    return real_subject(
        MongoAvatarStore(live, settings.mongodb_name),
        MongoAvatarStore(dead, settings.mongodb_name),
    )


async def test_a_stored_file_is_read_back_whole_under_a_new_id(
    avatars: Subject[AvatarStore],
) -> None:
    # Larger than a GridFS chunk (255 KiB), so that it is read back from several.
    data = os.urandom(600_000)
    first = await avatars.store.put(ALICE, data, WEBP)
    second = await avatars.store.put(ALICE, b"small", WEBP)
    assert AVATAR_ID.fullmatch(first)
    assert AVATAR_ID.fullmatch(second)
    assert first != second
    assert await avatars.store.open(first) == AvatarFile(data, WEBP)
    assert await avatars.store.open(second) == AvatarFile(b"small", WEBP)


async def test_ids_cannot_be_walked_from_one_to_the_next(avatars: Subject[AvatarStore]) -> None:
    # GET /avatars/{id} needs no session: ids given out one after another must share nothing
    # a client could count from (ObjectIds of one second share their first 8 hex digits).
    ids = [await avatars.store.put(ALICE, b"x", WEBP) for _ in range(8)]
    assert all(AVATAR_ID.fullmatch(avatar_id) for avatar_id in ids)
    assert len({avatar_id[:8] for avatar_id in ids}) == len(ids)
    assert len({avatar_id[-8:] for avatar_id in ids}) == len(ids)


@pytest.mark.parametrize("avatar_id", [ABSENT_ID, "not-an-id", "", "0" * 33, "A" * 32, "../x"])
async def test_an_unknown_or_malformed_id_opens_nothing(
    avatars: Subject[AvatarStore], avatar_id: str
) -> None:
    assert await avatars.store.open(avatar_id) is None


async def test_a_deleted_file_is_gone_and_deleting_again_is_no_error(
    avatars: Subject[AvatarStore],
) -> None:
    kept = await avatars.store.put(ALICE, b"kept", WEBP)
    gone = await avatars.store.put(ALICE, b"gone", WEBP)
    await avatars.store.delete(gone)
    assert await avatars.store.open(gone) is None
    await avatars.store.delete(gone)
    await avatars.store.delete(ABSENT_ID)
    await avatars.store.delete("not-an-id")
    assert await avatars.store.open(kept) == AvatarFile(b"kept", WEBP)


async def test_deleting_an_owners_files_leaves_the_others(avatars: Subject[AvatarStore]) -> None:
    alices = [await avatars.store.put(ALICE, bytes([n]), WEBP) for n in range(3)]
    bobs = await avatars.store.put(BOB, b"bob", WEBP)
    await avatars.store.delete_owned_by(ALICE)
    for avatar_id in alices:
        assert await avatars.store.open(avatar_id) is None
    assert await avatars.store.open(bobs) == AvatarFile(b"bob", WEBP)
    await avatars.store.delete_owned_by(ALICE)
    await avatars.store.delete_owned_by("nobody")


async def test_every_call_fails_as_dependency_unavailable_without_the_backend(
    avatars: Subject[AvatarStore],
) -> None:
    store = avatars.cut_off
    with pytest.raises(DependencyUnavailable):
        await store.put(ALICE, b"x", WEBP)
    with pytest.raises(DependencyUnavailable):
        await store.open(ABSENT_ID)
    with pytest.raises(DependencyUnavailable):
        await store.delete(ABSENT_ID)
    with pytest.raises(DependencyUnavailable):
        await store.delete_owned_by(ALICE)
