"""The session's copy of a user: a versioned record that degrades to no copy, never to an error."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from factsvc.services.user_snapshot import from_record, to_record
from factsvc.services.users import User

USER = User(
    id="0123456789abcdef01234567",
    username="alice",
    nickname="Alice ✓",
    gender="f",
    create_time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    update_time=datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
)


def test_a_record_survives_json_and_gives_back_the_same_user() -> None:
    record = to_record(USER)
    assert record == {
        "v": 1,
        "id": "0123456789abcdef01234567",
        "username": "alice",
        "nickname": "Alice ✓",
        "gender": "f",
        "created": "2026-01-02T03:04:05.678Z",
        "updated": "2026-02-03T04:05:06.789Z",
        "avatar": None,
        "email": None,
        "email_verified": False,
    }
    assert from_record(json.loads(json.dumps(record))) == USER


def test_the_avatar_survives_a_record() -> None:
    user = replace(USER, avatar_id="abcdef0123456789abcdef0123456789")
    assert to_record(user)["avatar"] == "abcdef0123456789abcdef0123456789"
    assert from_record(json.loads(json.dumps(to_record(user)))) == user


def test_a_record_written_before_avatars_holds_none() -> None:
    record = {k: v for k, v in to_record(USER).items() if k != "avatar"}
    assert from_record(record) == USER


def test_the_address_and_its_state_survive_a_record() -> None:
    user = replace(USER, email="Ä@bücher.de", email_verified=True)
    assert (to_record(user)["email"], to_record(user)["email_verified"]) == ("Ä@bücher.de", True)
    assert from_record(json.loads(json.dumps(to_record(user)))) == user


def test_a_record_written_before_addresses_holds_none() -> None:
    record = {k: v for k, v in to_record(USER).items() if not k.startswith("email")}
    assert from_record(record) == USER


def test_the_record_is_not_the_public_api_shape() -> None:
    assert set(to_record(USER)) != set(USER.public())


def test_the_public_shape_sessions_kept_before_versioning_is_still_read() -> None:
    assert from_record(USER.public()) == USER


@pytest.mark.parametrize("version", [0, 2, "1", 1.0, True, None])
def test_an_unknown_version_is_no_copy(version: object) -> None:
    assert from_record({**to_record(USER), "v": version}) is None


@pytest.mark.parametrize(
    "record",
    [
        None,
        "alice",
        ["v", 1],
        {},
        {"v": 1},
        {k: v for k, v in to_record(USER).items() if k != "nickname"},
        {**to_record(USER), "username": None},
        {**to_record(USER), "id": 7},
        {**to_record(USER), "created": "yesterday"},
        {**to_record(USER), "updated": 1767323045},
        {**to_record(USER), "created": "2026-01-02T03:04:05"},  # no offset: ambiguous
        {k: v for k, v in USER.public().items() if k != "update_time"},
        {**to_record(USER), "avatar": 7},
        {**to_record(USER), "avatar": "../etc/passwd"},
        {**to_record(USER), "avatar": "ABCDEF0123456789ABCDEF01"},
        {**to_record(USER), "email": 7},
        {**to_record(USER), "email_verified": "yes"},
        {**to_record(USER), "email_verified": None},
    ],
)
def test_a_malformed_record_is_no_copy(record: object) -> None:
    assert from_record(record) is None
