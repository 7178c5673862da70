"""The AccountStore port: FakeAccountStore and MongoAccountStore pass the same checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable, Duplicate
from factsvc.services.account_store import AccountStore
from factsvc.services.users import NewAccount
from factsvc.storage import mongo
from factsvc.storage.mongo import MongoClient
from factsvc.storage.mongo_accounts import MongoAccountStore
from tests.contract.subjects import ManualClock, Subject, fake_subject, real_subject
from tests.support.fakes import FakeAccountStore

pytestmark = pytest.mark.gen_test(timeout=30)

# Millisecond precision, as MongoDB keeps it.
CREATED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
LATER = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
ALICE = NewAccount("alice", "Alice", "f", "$2b$04$alice", CREATED)
ABSENT_ID = "0" * 24  # well formed, never given out


@pytest.fixture(params=["fake", "mongodb"])
def accounts(request: pytest.FixtureRequest, clock: ManualClock) -> Subject[AccountStore]:
    if request.param == "fake":
        cut_off = FakeAccountStore()
        cut_off.available = False
        return fake_subject(FakeAccountStore(), cut_off, clock)
    settings: Settings = request.getfixturevalue("settings")
    live: MongoClient = request.getfixturevalue("live_mongo")
    dead: MongoClient = request.getfixturevalue("dead_mongo")
    name = settings.mongodb_name
    return real_subject(
        MongoAccountStore(mongo.collection(live, name, "users")),
        MongoAccountStore(mongo.collection(dead, name, "users")),
    )


async def test_an_inserted_account_is_found_by_name_and_by_id(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    assert (user.username, user.nickname, user.gender) == ("alice", "Alice", "f")
    assert (user.create_time, user.update_time) == (CREATED, CREATED)
    by_name = await accounts.store.find_by_username("alice")
    by_id = await accounts.store.find_by_id(user.id)
    assert by_name is not None
    assert (by_name.user, by_name.password_hash) == (user, "$2b$04$alice")
    assert by_id == by_name


async def test_what_was_never_inserted_is_not_found(accounts: Subject[AccountStore]) -> None:
    await accounts.store.insert(ALICE)
    assert await accounts.store.find_by_username("bob") is None
    assert await accounts.store.find_by_username("Alice") is None, "names are compared exactly"
    assert await accounts.store.find_by_id(ABSENT_ID) is None
    assert await accounts.store.find_by_id("not-an-id") is None


async def test_a_taken_username_is_a_duplicate_and_changes_nothing(
    accounts: Subject[AccountStore],
) -> None:
    first = await accounts.store.insert(ALICE)
    again = NewAccount("alice", "Other", "m", "$2b$04$other", LATER)
    with pytest.raises(Duplicate) as raised:
        await accounts.store.insert(again)
    assert raised.value.field == "username"
    stored = await accounts.store.find_by_username("alice")
    assert stored is not None
    assert (stored.user, stored.password_hash) == (first, "$2b$04$alice")


async def test_an_update_sets_the_given_fields_and_the_update_time_only(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    updated = await accounts.store.update(user.id, {"nickname": "Al", "gender": "i"}, LATER)
    assert updated is not None
    assert (updated.id, updated.username, updated.nickname, updated.gender) == (
        user.id,
        "alice",
        "Al",
        "i",
    )
    assert (updated.create_time, updated.update_time) == (CREATED, LATER)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert (stored.user, stored.password_hash) == (updated, "$2b$04$alice")


async def test_fields_outside_the_allow_list_are_refused_and_nothing_changes(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    with pytest.raises(ValueError, match="not editable"):
        await accounts.store.update(user.id, {"nickname": "x", "username": "mallory"}, LATER)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.user == user


async def test_a_conditional_update_applies_only_while_the_hash_is_the_expected_one(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    new_hash = {"password_hash": "$2b$04$new"}
    assert await accounts.store.update(user.id, new_hash, LATER, "$2b$04$stale") is None
    unchanged = await accounts.store.find_by_id(user.id)
    assert unchanged is not None
    assert (unchanged.user, unchanged.password_hash) == (user, "$2b$04$alice")

    updated = await accounts.store.update(user.id, new_hash, LATER, "$2b$04$alice")
    assert updated is not None
    assert updated.update_time == LATER
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.password_hash == "$2b$04$new"


async def test_an_update_of_a_missing_user_is_none(accounts: Subject[AccountStore]) -> None:
    await accounts.store.insert(ALICE)
    assert await accounts.store.update(ABSENT_ID, {"nickname": "x"}, LATER) is None
    assert await accounts.store.update("not-an-id", {"nickname": "x"}, LATER) is None
    assert await accounts.store.update(ABSENT_ID, {"nickname": "x"}, LATER, "$2b$04$alice") is None


async def test_every_call_fails_as_dependency_unavailable_without_the_backend(
    accounts: Subject[AccountStore],
) -> None:
    store = accounts.cut_off
    with pytest.raises(DependencyUnavailable) as raised:
        await store.insert(ALICE)
    assert raised.value.states == {"mongodb": "unavailable"}
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.find_by_username("alice"),
        lambda: store.find_by_id(ABSENT_ID),
        lambda: store.update(ABSENT_ID, {"nickname": "x"}, LATER),
    ]
    for call in calls:
        with pytest.raises(DependencyUnavailable):
            await call()


async def test_a_new_account_is_at_credential_version_zero(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    for stored in (
        await accounts.store.find_by_username("alice"),
        await accounts.store.find_by_id(user.id),
    ):
        assert stored is not None
        assert stored.credential_version == 0


async def test_a_new_credential_raises_the_version_only_from_the_expected_one(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    changes = {"password_hash": "$2b$04$new", "nickname": "Al"}
    assert await accounts.store.replace_credential(user.id, changes, LATER, 1) is None
    unchanged = await accounts.store.find_by_id(user.id)
    assert unchanged is not None
    assert (unchanged.user, unchanged.password_hash, unchanged.credential_version) == (
        user,
        "$2b$04$alice",
        0,
    )

    updated = await accounts.store.replace_credential(user.id, changes, LATER, 0)
    assert updated is not None
    assert (updated.nickname, updated.update_time) == ("Al", LATER)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert (stored.user, stored.password_hash, stored.credential_version) == (
        updated,
        "$2b$04$new",
        1,
    )
    again = {"password_hash": "$2b$04$newer"}
    assert await accounts.store.replace_credential(user.id, again, LATER, 0) is None, "spent"
    assert await accounts.store.replace_credential(user.id, again, LATER, 1) is not None
    stored = await accounts.store.find_by_username("alice")
    assert stored is not None
    assert (stored.password_hash, stored.credential_version) == ("$2b$04$newer", 2)


async def test_a_new_credential_needs_a_hash_and_allowed_fields_only(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    with pytest.raises(ValueError, match="password_hash"):
        await accounts.store.replace_credential(user.id, {"nickname": "x"}, LATER, 0)
    with pytest.raises(ValueError, match="not editable"):
        await accounts.store.replace_credential(
            user.id, {"password_hash": "$2b$04$new", "credential_version": "9"}, LATER, 0
        )
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert (stored.user, stored.password_hash, stored.credential_version) == (
        user,
        "$2b$04$alice",
        0,
    )
    assert (
        await accounts.store.replace_credential(ABSENT_ID, {"password_hash": "h"}, LATER, 0) is None
    )
    assert (
        await accounts.store.replace_credential("not-an-id", {"password_hash": "h"}, LATER, 0)
        is None
    )


async def test_a_rehash_keeps_the_credential_version(accounts: Subject[AccountStore]) -> None:
    user = await accounts.store.insert(ALICE)
    await accounts.store.replace_credential(user.id, {"password_hash": "$2b$04$new"}, LATER, 0)
    rehash = {"password_hash": "$2b$05$same"}
    assert await accounts.store.update(user.id, rehash, LATER, "$2b$04$new") is not None
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert (stored.password_hash, stored.credential_version) == ("$2b$05$same", 1)


async def test_advancing_the_version_needs_both_the_hash_and_the_version_and_keeps_the_hash(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    assert not await accounts.store.advance_credential_version(user.id, "$2b$04$other", 0, 1)
    assert not await accounts.store.advance_credential_version(user.id, "$2b$04$alice", 1, 2)
    assert not await accounts.store.advance_credential_version(ABSENT_ID, "$2b$04$alice", 0, 1)
    assert not await accounts.store.advance_credential_version("not-an-id", "$2b$04$alice", 0, 1)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.credential_version == 0

    assert await accounts.store.advance_credential_version(user.id, "$2b$04$alice", 0, 3)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert (stored.user, stored.password_hash, stored.credential_version) == (
        user,
        "$2b$04$alice",
        3,
    )
    new_hash = {"password_hash": "$2b$04$new"}
    assert await accounts.store.replace_credential(user.id, new_hash, LATER, 0) is None, (
        "a change that read the older version no longer applies"
    )


async def test_credential_calls_fail_as_dependency_unavailable_without_the_backend(
    accounts: Subject[AccountStore],
) -> None:
    store = accounts.cut_off
    with pytest.raises(DependencyUnavailable):
        await store.replace_credential(ABSENT_ID, {"password_hash": "h"}, LATER, 0)
    with pytest.raises(DependencyUnavailable):
        await store.advance_credential_version(ABSENT_ID, "h", 0, 1)


AVATAR = "abcdef0123456789abcdef01"
OTHER_AVATAR = "abcdef0123456789abcdef02"


async def test_setting_an_avatar_returns_the_user_and_the_avatar_it_replaced(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    assert user.avatar_id is None
    first = await accounts.store.set_avatar(user.id, AVATAR, LATER)
    assert first is not None
    assert (first.user.avatar_id, first.user.update_time, first.previous) == (AVATAR, LATER, None)
    assert first.user == replace(user, avatar_id=AVATAR, update_time=LATER)
    second = await accounts.store.set_avatar(user.id, OTHER_AVATAR, LATER)
    assert second is not None
    assert (second.user.avatar_id, second.previous) == (OTHER_AVATAR, AVATAR)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.user == second.user


async def test_concurrent_avatar_changes_each_return_the_avatar_they_replaced(
    accounts: Subject[AccountStore],
) -> None:
    # Each replaced file is deleted by the change that replaced it: one reported twice and
    # another never would leave a file the user replaced or removed served for good.
    user = await accounts.store.insert(ALICE)
    avatars = [f"{number:032x}" for number in range(1, 21)]
    changes = [accounts.store.set_avatar(user.id, avatar, LATER) for avatar in avatars]
    changes += [accounts.store.set_avatar(user.id, None, LATER) for _ in range(5)]
    swaps = await asyncio.gather(*changes)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    replaced = [swap.previous for swap in swaps if swap is not None and swap.previous]
    assert sorted(replaced) == sorted(set(avatars) - {stored.user.avatar_id})


async def test_removing_the_avatar_returns_the_one_removed(accounts: Subject[AccountStore]) -> None:
    user = await accounts.store.insert(ALICE)
    await accounts.store.set_avatar(user.id, AVATAR, LATER)
    removed = await accounts.store.set_avatar(user.id, None, LATER)
    assert removed is not None
    assert (removed.user.avatar_id, removed.previous) == (None, AVATAR)
    again = await accounts.store.set_avatar(user.id, None, LATER)
    assert again is not None
    assert (again.user.avatar_id, again.previous) == (None, None)
    by_name = await accounts.store.find_by_username("alice")
    assert by_name is not None
    assert by_name.user.avatar_id is None


async def test_an_avatar_for_no_user_changes_nothing(accounts: Subject[AccountStore]) -> None:
    assert await accounts.store.set_avatar(ABSENT_ID, AVATAR, LATER) is None
    assert await accounts.store.set_avatar("not an id", AVATAR, LATER) is None


async def test_setting_an_avatar_fails_as_dependency_unavailable_without_the_backend(
    accounts: Subject[AccountStore],
) -> None:
    with pytest.raises(DependencyUnavailable):
        await accounts.cut_off.set_avatar(ABSENT_ID, AVATAR, LATER)


async def test_a_deleted_account_is_gone_by_name_and_by_id_and_others_stay(
    accounts: Subject[AccountStore],
) -> None:
    alice = await accounts.store.insert(ALICE)
    bob = await accounts.store.insert(replace(ALICE, username="bob"))
    assert await accounts.store.delete(alice.id)
    assert await accounts.store.find_by_id(alice.id) is None
    assert await accounts.store.find_by_username("alice") is None
    assert await accounts.store.update(alice.id, {"nickname": "x"}, LATER) is None
    assert not await accounts.store.advance_credential_version(alice.id, "$2b$04$alice", 0, 1)
    kept = await accounts.store.find_by_id(bob.id)
    assert kept is not None
    assert kept.user == bob


async def test_deleting_what_is_not_there_is_false(accounts: Subject[AccountStore]) -> None:
    user = await accounts.store.insert(ALICE)
    assert await accounts.store.delete(user.id)
    assert not await accounts.store.delete(user.id), "deleted once only"
    assert not await accounts.store.delete(ABSENT_ID)
    assert not await accounts.store.delete("not-an-id")


async def test_a_deleted_username_is_free_for_a_new_account_with_a_new_id(
    accounts: Subject[AccountStore],
) -> None:
    first = await accounts.store.insert(ALICE)
    assert await accounts.store.delete(first.id)
    second = await accounts.store.insert(replace(ALICE, password_hash="$2b$04$second"))
    assert second.id != first.id
    stored = await accounts.store.find_by_username("alice")
    assert stored is not None
    assert (stored.user.id, stored.password_hash, stored.credential_version) == (
        second.id,
        "$2b$04$second",
        0,
    )
    assert await accounts.store.find_by_id(first.id) is None


async def test_a_delete_below_a_version_spares_an_account_that_reached_it(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    assert await accounts.store.advance_credential_version(user.id, "$2b$04$alice", 0, 5)
    assert not await accounts.store.delete(user.id, below_version=5)
    assert not await accounts.store.delete(user.id, below_version=0)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.credential_version == 5
    assert await accounts.store.delete(user.id, below_version=6)
    assert await accounts.store.find_by_id(user.id) is None


async def test_a_delete_below_a_version_takes_an_account_at_version_zero(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(ALICE)
    assert not await accounts.store.delete(user.id, below_version=0)
    assert await accounts.store.delete(user.id, below_version=1)
    assert await accounts.store.find_by_id(user.id) is None


async def test_a_delete_fails_as_dependency_unavailable_without_the_backend(
    accounts: Subject[AccountStore],
) -> None:
    with pytest.raises(DependencyUnavailable):
        await accounts.cut_off.delete(ABSENT_ID)


WITH_ADDRESS = replace(ALICE, email="Alice@example.com")


async def test_an_account_inserted_with_an_address_holds_it_unverified(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(WITH_ADDRESS)
    assert (user.email, user.email_verified) == ("Alice@example.com", False)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.user == user
    plain = await accounts.store.insert(replace(ALICE, username="bob"))
    assert (plain.email, plain.email_verified) == (None, False)


async def test_an_account_is_found_by_its_address_in_any_case(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(WITH_ADDRESS)
    await accounts.store.insert(replace(ALICE, username="bob"))
    for asked in ("Alice@example.com", "alice@example.com", "ALICE@EXAMPLE.COM"):
        found = await accounts.store.find_by_email(asked)
        assert found is not None
        assert (found.user, found.password_hash) == (user, "$2b$04$alice")
    assert await accounts.store.find_by_email("alice@example.org") is None


async def test_an_address_taken_in_any_case_is_a_duplicate_of_the_email(
    accounts: Subject[AccountStore],
) -> None:
    await accounts.store.insert(WITH_ADDRESS)
    with pytest.raises(Duplicate) as raised:
        await accounts.store.insert(replace(ALICE, username="bob", email="ALICE@example.com"))
    assert raised.value.field == "email"
    with pytest.raises(Duplicate) as raised:
        await accounts.store.insert(replace(WITH_ADDRESS, email="carol@example.com"))
    assert raised.value.field == "username"
    assert await accounts.store.find_by_username("bob") is None
    # Any number of accounts may have no address.
    await accounts.store.insert(replace(ALICE, username="carol"))
    await accounts.store.insert(replace(ALICE, username="dave"))


async def test_an_update_sets_a_new_address_unverified_and_none_removes_it(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(WITH_ADDRESS)
    assert await accounts.store.mark_email_verified(user.id, "Alice@example.com", 0)
    changed = await accounts.store.update(user.id, {"email": "alice@example.org"}, LATER)
    assert changed is not None
    assert (changed.email, changed.email_verified, changed.update_time) == (
        "alice@example.org",
        False,
        LATER,
    )
    assert await accounts.store.find_by_email("Alice@example.com") is None
    removed = await accounts.store.update(user.id, {"email": None, "nickname": "Al"}, LATER)
    assert removed is not None
    assert (removed.email, removed.email_verified, removed.nickname) == (None, False, "Al")
    assert await accounts.store.find_by_email("alice@example.org") is None
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.user == removed
    # The address removed is free for another account.
    await accounts.store.insert(replace(ALICE, username="bob", email="alice@example.org"))


async def test_an_update_to_a_taken_address_is_a_duplicate_and_changes_nothing(
    accounts: Subject[AccountStore],
) -> None:
    await accounts.store.insert(WITH_ADDRESS)
    bob = await accounts.store.insert(replace(ALICE, username="bob", email="bob@example.com"))
    with pytest.raises(Duplicate) as raised:
        await accounts.store.update(bob.id, {"email": "alice@EXAMPLE.com", "nickname": "x"}, LATER)
    assert raised.value.field == "email"
    changes = {"email": "ALICE@example.com", "password_hash": "$2b$04$new"}
    with pytest.raises(Duplicate):
        await accounts.store.replace_credential(bob.id, changes, LATER, 0)
    stored = await accounts.store.find_by_id(bob.id)
    assert stored is not None
    assert (stored.user, stored.password_hash, stored.credential_version) == (
        bob,
        "$2b$04$alice",
        0,
    )


async def test_only_the_email_may_be_removed_by_an_update(accounts: Subject[AccountStore]) -> None:
    user = await accounts.store.insert(ALICE)
    with pytest.raises(ValueError, match="only an email"):
        await accounts.store.update(user.id, {"nickname": None}, LATER)


async def test_an_address_is_marked_verified_only_while_it_is_the_accounts(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(WITH_ADDRESS)
    assert not await accounts.store.mark_email_verified(user.id, "alice@example.org", 0)
    assert not await accounts.store.mark_email_verified(ABSENT_ID, "Alice@example.com", 0)
    assert not await accounts.store.mark_email_verified("not-an-id", "Alice@example.com", 0)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert not stored.user.email_verified

    assert await accounts.store.mark_email_verified(user.id, "Alice@example.com", 0)
    assert await accounts.store.mark_email_verified(user.id, "Alice@example.com", 0), "still true"
    found = await accounts.store.find_by_email("alice@example.com")
    assert found is not None
    assert found.user == replace(user, email_verified=True)
    await accounts.store.update(user.id, {"email": None}, LATER)
    assert not await accounts.store.mark_email_verified(user.id, "Alice@example.com", 0)
    plain = await accounts.store.insert(replace(ALICE, username="bob"))
    assert not await accounts.store.mark_email_verified(plain.id, "Alice@example.com", 0)


async def test_an_address_is_marked_verified_only_at_the_credential_version_given(
    accounts: Subject[AccountStore],
) -> None:
    user = await accounts.store.insert(WITH_ADDRESS)
    changed = await accounts.store.replace_credential(
        user.id, {"password_hash": "$2b$04$new"}, LATER, expected_version=0
    )
    assert changed is not None
    assert not await accounts.store.mark_email_verified(user.id, "Alice@example.com", 0)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert not stored.user.email_verified
    assert await accounts.store.mark_email_verified(user.id, "Alice@example.com", 1)
    stored = await accounts.store.find_by_id(user.id)
    assert stored is not None
    assert stored.user.email_verified


async def test_address_calls_fail_as_dependency_unavailable_without_the_backend(
    accounts: Subject[AccountStore],
) -> None:
    with pytest.raises(DependencyUnavailable):
        await accounts.cut_off.find_by_email("alice@example.com")
    with pytest.raises(DependencyUnavailable):
        await accounts.cut_off.mark_email_verified(ABSENT_ID, "alice@example.com", 0)
