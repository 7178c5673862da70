"""The avatar service against in-memory fakes, with real images (tests/support/images.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

import pytest
from PIL import Image

from factsvc.errors import (
    DependencyUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Overloaded,
    RateLimited,
)
from factsvc.services.accounts import AccountService
from factsvc.services.avatars import AvatarRules, AvatarService
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.sessions import SessionService
from factsvc.services.users import User
from tests.support import images
from tests.support.fake_avatar_store import FakeAvatarStore
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore, InlineRunner
from tests.support.limits import attempt_limits_with

pytestmark = pytest.mark.gen_test

T = TypeVar("T")
PASSWORD = "correct horse battery"
UPLOADS = 3


class World:
    def __init__(self, tmp_path: Path, runner: InlineRunner | None = None) -> None:
        self.tmp_path = tmp_path
        self.store = FakeAccountStore()
        self.files = FakeAvatarStore()
        self.session_store = FakeSessionStore()
        self.runner = runner or InlineRunner()
        sessions = SessionService(self.session_store, idle_seconds=600, absolute_seconds=3600)
        limiter = RateLimiter(FakeCounterStore())
        self.accounts = AccountService(
            store=self.store,
            hasher=PasswordHasher(InlineRunner(), rounds=4, pepper=""),
            sessions=sessions,
            limiter=limiter,
            limits=attempt_limits_with(
                per_account=Limit("a", 5, 3600),
                per_client=Limit("c", 5, 900),
                registrations_per_client=Limit("r", 50, 3600),
            ),
            common_passwords=frozenset(),
        )
        self.avatars = AvatarService(
            accounts=self.store,
            files=self.files,
            sessions=sessions,
            limiter=limiter,
            images=self.runner,
            rules=AvatarRules(
                max_pixels=1_000_000, size=32, uploads_per_user=Limit("u", UPLOADS, 60)
            ),
        )

    async def login(self, username: str = "alice") -> str:
        await self.accounts.register({"username": username, "password": PASSWORD}, "c")
        result = await self.accounts.login({"username": username, "password": PASSWORD}, "c")
        return result.token

    def spooled(self, data: bytes) -> str:
        path = self.tmp_path / f"upload-{len(list(self.tmp_path.iterdir()))}"
        path.write_bytes(data)
        return str(path)

    async def upload(self, token: str, data: bytes, media_type: str = "image/png") -> User:
        await self.avatars.admit_upload(token)
        return await self.avatars.replace(token, self.spooled(data), media_type)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


async def test_an_upload_becomes_the_users_avatar_as_a_square_webp(world: World) -> None:
    token = await world.login()
    user = await world.upload(token, images.png((64, 48)))
    assert user.avatar_id is not None
    assert user.public()["avatar_url"] == f"/avatars/{user.avatar_id}"
    stored = await world.avatars.file(user.avatar_id)
    assert stored.media_type == "image/webp"
    with Image.open(io.BytesIO(stored.data)) as image:
        assert (image.format, image.size) == ("WEBP", (32, 32))
    info = await world.accounts.info(token)
    assert info.avatar_id == user.avatar_id
    assert world.runner.calls == 1


async def test_replacing_deletes_the_old_file(world: World) -> None:
    token = await world.login()
    first = await world.upload(token, images.png())
    second = await world.upload(token, images.jpeg(), "image/jpeg")
    assert first.avatar_id != second.avatar_id
    assert set(world.files.files) == {second.avatar_id}
    with pytest.raises(NotFound):
        await world.avatars.file(str(first.avatar_id))


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (images.truncated(images.png()), "image/png"),
        (images.png(), "image/jpeg"),
        (b"not an image at all", "image/webp"),
        (images.decompression_bomb_png(), "image/png"),
    ],
)
async def test_what_is_not_an_image_of_its_type_is_refused_with_a_reason(
    world: World, data: bytes, media_type: str
) -> None:
    token = await world.login()
    with pytest.raises(InvalidInput) as refused:
        await world.upload(token, data, media_type)
    assert set(refused.value.errors) == {"body"}
    assert world.files.files == {}


async def test_without_a_session_nothing_is_decoded(world: World) -> None:
    with pytest.raises(NotAuthenticated):
        await world.avatars.admit_upload(None)
    with pytest.raises(NotAuthenticated):
        await world.avatars.replace("junk", world.spooled(images.png()), "image/png")
    with pytest.raises(NotAuthenticated):
        await world.avatars.delete(None)
    assert world.runner.calls == 0


async def test_uploads_are_limited_per_user(world: World) -> None:
    alice, bob = await world.login("alice"), await world.login("bob")
    for _ in range(UPLOADS):
        await world.avatars.admit_upload(alice)
    with pytest.raises(RateLimited):
        await world.avatars.admit_upload(alice)
    await world.avatars.admit_upload(bob)


async def test_a_failed_account_write_removes_the_new_file(world: World) -> None:
    token = await world.login()
    first = await world.upload(token, images.png())

    async def down(*args: object) -> None:
        raise DependencyUnavailable({"mongodb": "unavailable"})

    world.store.set_avatar = down  # type: ignore[method-assign,assignment]
    with pytest.raises(DependencyUnavailable):
        await world.upload(token, images.png())
    assert set(world.files.files) == {first.avatar_id}


async def test_a_file_the_account_may_name_is_kept_when_the_account_cannot_be_read(
    world: World,
) -> None:
    token = await world.login()
    original = world.store.set_avatar

    async def applied_but_lost(user_id: str, avatar_id: str | None, now: object) -> None:
        await original(user_id, avatar_id, now)  # type: ignore[arg-type]
        world.store.available = False
        raise DependencyUnavailable({"mongodb": "unavailable"})

    world.store.set_avatar = applied_but_lost  # type: ignore[method-assign]
    with pytest.raises(DependencyUnavailable):
        await world.upload(token, images.png())
    named = world.store.documents[next(iter(world.store.documents))]["user"].avatar_id
    assert named is not None
    assert set(world.files.files) == {named}


async def test_an_account_gone_during_the_upload_keeps_no_file(world: World) -> None:
    token = await world.login()
    await world.avatars.admit_upload(token)
    world.store.documents.clear()
    with pytest.raises(NotAuthenticated):
        await world.avatars.replace(token, world.spooled(images.png()), "image/png")
    assert world.files.files == {}


async def test_a_failed_put_leaves_the_avatar_as_it_was(world: World) -> None:
    token = await world.login()
    first = await world.upload(token, images.png())
    world.files.fail_puts = True
    with pytest.raises(DependencyUnavailable):
        await world.upload(token, images.png())
    assert (await world.accounts.info(token)).avatar_id == first.avatar_id


async def test_an_old_file_that_cannot_be_deleted_does_not_undo_the_change(world: World) -> None:
    token = await world.login()
    await world.upload(token, images.png())
    original = world.files.delete

    async def down(avatar_id: str) -> None:
        raise DependencyUnavailable({"mongodb": "unavailable"})

    world.files.delete = down  # type: ignore[method-assign]
    second = await world.upload(token, images.png())
    assert (await world.accounts.info(token)).avatar_id == second.avatar_id
    world.files.delete = original  # type: ignore[method-assign]
    assert len(world.files.owned_by(second.id)) == 2, "left to the account's deletion"


async def test_deleting_removes_the_file_and_twice_is_no_error(world: World) -> None:
    token = await world.login()
    uploaded = await world.upload(token, images.png())
    user = await world.avatars.delete(token)
    assert user.avatar_id is None
    assert user.public()["avatar_url"] is None
    assert world.files.files == {}
    assert (await world.avatars.delete(token)).avatar_id is None
    with pytest.raises(NotFound):
        await world.avatars.file(str(uploaded.avatar_id))


async def test_the_session_copy_follows_the_avatar(world: World) -> None:
    token = await world.login()
    user = await world.upload(token, images.png())
    world.store.available = False
    current = await world.accounts.current_user(token)
    assert current is not None
    assert current.avatar_id == user.avatar_id


class DyingRunner(InlineRunner):
    async def run(self, function: Callable[..., T], *args: object) -> T:
        raise BrokenProcessPool("a worker died")


async def test_a_worker_that_died_is_503_and_stores_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, DyingRunner())
    token = await world.login()
    with pytest.raises(Overloaded):
        await world.upload(token, images.png())
    assert world.files.files == {}
