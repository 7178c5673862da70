"""The request body models: one reason per field, strict types, closed bodies, honest schemas."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import TypeAdapter

from factsvc.errors import InvalidInput
from factsvc.services.account_edit_body import AccountEditBody
from factsvc.services.bodies import (
    USERNAME_MAX,
    USERNAME_MIN,
    Body,
    LoginBody,
    PasswordPolicy,
    RegisterBody,
    StoredUsername,
    Username,
)
from factsvc.services.body_reasons import parse

POLICY = PasswordPolicy(frozenset({"password", "iloveyou"}), username="alice12345")
USERNAME_RULE = "must be 3-20 ASCII letters, digits or '_', starting with a letter"


def reasons(model: type[Body], body: Mapping[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse(model, body, POLICY)
    return caught.value.errors


def test_a_valid_registration_is_normalized_and_filled_with_defaults() -> None:
    body = parse(RegisterBody, {"username": "Alice_9", "password": "long enough"}, POLICY)
    assert (body.username, body.nickname, body.gender) == ("alice_9", "alice_9", "i")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"username": "al", "password": "long enough"}, {"username": USERNAME_RULE}),
        ({"username": 1, "password": "long enough"}, {"username": USERNAME_RULE}),
        ({"username": "alice", "password": "short"}, {"password": "must be 8-128 characters"}),
        ({"username": "alice", "password": 12345678}, {"password": "must be a string"}),
        (
            {"username": "alice", "password": "\ud800" * 8},
            {"password": "must be valid Unicode text"},
        ),
        (
            {"username": "alice", "password": "PassWord"},
            {"password": "is too common; choose another"},
        ),
        (
            {"username": "Bob_the_b", "password": "BOB_THE_B"},
            {"password": "is too common; choose another"},
        ),
        (
            {"username": "alice", "password": "long enough", "nickname": ""},
            {"nickname": "must be a string of 1-20 characters"},
        ),
        (
            {"username": "alice", "password": "long enough", "nickname": " padded"},
            {"nickname": "must not contain control characters or surrounding spaces"},
        ),
        (
            {"username": "alice", "password": "long enough", "gender": "x"},
            {"gender": "must be 'm', 'f' or 'i'"},
        ),
        (
            {"password": 1, "_id": "x", "gender": None},
            {
                "_id": "is not an accepted field",
                "username": "is required",
                "password": "must be a string",
                "gender": "must be 'm', 'f' or 'i'",
            },
        ),
    ],
)
def test_registration_reasons_name_the_first_problem_of_every_field(
    body: Mapping[str, object], expected: dict[str, str]
) -> None:
    errors = reasons(RegisterBody, body)
    assert errors == expected
    assert list(errors) == list(expected), "unknown fields, then missing ones, then field order"


@pytest.mark.parametrize("value", [1, 1.0, True, None, ["m"], {"$ne": None}, b"m"])
def test_nothing_is_coerced_to_text(value: object) -> None:
    for name in ("username", "password", "nickname", "gender"):
        body = {"username": "alice", "password": "long enough", name: value}
        assert name in reasons(RegisterBody, body)


def test_login_takes_any_text_and_matches_the_username_in_lower_case() -> None:
    assert parse(LoginBody, {"username": "ALICE", "password": "x"}).username == "alice"
    assert reasons(LoginBody, {"username": "", "password": "\udfff"}) == {
        "username": "must be a string of 1-128 characters",
        "password": "must be valid Unicode text",
    }


def test_a_login_may_choose_its_session_mode_and_nothing_else() -> None:
    credentials = {"username": "alice", "password": "x"}
    assert parse(LoginBody, credentials).session_mode() is None
    for mode in ("cookie", "token"):
        assert parse(LoginBody, {**credentials, "session": mode}).session_mode() == mode
    for wrong in ("Cookie", "both", " token", "", None, 1, True, ["cookie"], {"mode": "token"}):
        assert reasons(LoginBody, {**credentials, "session": wrong}) == {
            "session": "must be 'cookie' or 'token'"
        }
    assert reasons(LoginBody, {"username": 5, "password": "x", "session": "jar"}) == {
        "username": "must be a string of 1-128 characters",
        "session": "must be 'cookie' or 'token'",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"body": "must change at least one field"}),
        (
            {"old_password": 5, "nickname": "Al"},
            {"old_password": "is only accepted with a new password or email address"},
        ),
        (
            {"password": "short"},
            {
                "password": "must be 8-128 characters",
                "old_password": "is required to change the password",
            },
        ),
        (
            {"password": "a new secret", "old_password": ""},
            {"old_password": "is required to change the password"},
        ),
        (
            {"password": "Alice12345", "old_password": "x"},
            {"password": "is too common; choose another"},
        ),
        ({"nickname": None}, {"nickname": "must be a string of 1-20 characters"}),
        ({"nickname": "ok", "username": "x"}, {"username": "is not an accepted field"}),
    ],
)
def test_edit_reasons_include_the_rules_over_several_fields(
    body: Mapping[str, object], expected: dict[str, str]
) -> None:
    assert reasons(AccountEditBody, body) == expected


def test_an_edit_says_what_it_changes() -> None:
    profile = parse(AccountEditBody, {"gender": "f"}, POLICY)
    assert (profile.profile_changes(), profile.password_change()) == ({"gender": "f"}, None)
    secret = parse(AccountEditBody, {"password": "a new secret", "old_password": "old"}, POLICY)
    assert (secret.profile_changes(), secret.password_change()) == ({}, ("old", "a new secret"))


def test_an_edit_says_when_the_address_needs_the_current_password() -> None:
    required = "is required to change the email address"
    for body in ({"email": "new@example.com"}, {"email": None}):
        edit = parse(AccountEditBody, body, POLICY)
        assert edit.required_old_password("old@example.com") == required
    same = parse(AccountEditBody, {"email": "OLD@example.com"}, POLICY)
    assert same.required_old_password("old@example.com") is None
    assert parse(AccountEditBody, {"email": None}, POLICY).required_old_password(None) is None
    given = parse(AccountEditBody, {"email": None, "old_password": "old"}, POLICY)
    assert (given.required_old_password("old@example.com"), given.current_password()) == (
        None,
        "old",
    )


def test_a_password_is_never_checked_without_the_policy() -> None:
    with pytest.raises(TypeError):
        parse(RegisterBody, {"username": "alice", "password": "long enough"})


def test_the_schemas_state_the_same_rules() -> None:
    register = RegisterBody.model_json_schema()
    assert register["additionalProperties"] is False
    assert register["required"] == ["username", "password"]
    fields = register["properties"]
    assert fields["username"]["pattern"] == "^[A-Za-z][A-Za-z0-9_]{2,19}$"
    assert (fields["password"]["minLength"], fields["password"]["maxLength"]) == (8, 128)
    assert fields["gender"]["enum"] == ["m", "f", "i"]
    edit = AccountEditBody.model_json_schema()
    assert "required" not in edit
    assert edit["minProperties"] == 1
    # old_password is also required with an email that changes the address, and accepted
    # with a password or an email: neither can be stated without the account's address.
    assert edit["dependentRequired"] == {"password": ["old_password"]}
    # Only the address may be null (it removes it).
    nullable = {name for name, field in edit["properties"].items() if "null" in str(field)}
    assert nullable == {"email"}
    for model in (RegisterBody, LoginBody, AccountEditBody):
        properties = model.model_json_schema()["properties"]
        assert all(field.get("description") for field in properties.values()), model


@pytest.mark.parametrize(("username", "stored"), [(Username, False), (StoredUsername, True)])
def test_a_username_pattern_and_its_lengths_admit_the_same_names(
    username: Any, stored: bool
) -> None:
    schema = TypeAdapter(username).json_schema()
    assert (schema["minLength"], schema["maxLength"]) == (USERNAME_MIN, USERNAME_MAX)
    pattern = re.compile(schema["pattern"])
    for length in range(1, USERNAME_MAX + 3):
        admitted = USERNAME_MIN <= length <= USERNAME_MAX
        assert bool(pattern.fullmatch("a" + "_" * (length - 1))) is admitted, length
    assert bool(pattern.fullmatch("Alice")) is not stored, "stored names are in lower case"
    assert not pattern.fullmatch("9lives")


VISIBLE = "must contain a visible character: a letter, digit, punctuation mark or symbol"
CLEAN = "must not contain control characters or surrounding spaces"


@pytest.mark.parametrize(
    ("nickname", "reason"),
    [
        ("\u3164", VISIBLE),  # HANGUL FILLER
        ("\u2800", VISIBLE),  # BRAILLE PATTERN BLANK
        ("\u0301\u0301", VISIBLE),  # only combining marks
        ("\u115f\u1160\uffa0", VISIBLE),  # the other Hangul fillers
        ("\u3164 \u3164", VISIBLE),  # blanks with a space between
        # Cases refused before this rule keep their reason.
        ("\u3000", CLEAN),
        ("\u00a0\u2000\u200a", CLEAN),
        ("\u200b", CLEAN),
        ("\u3164\u200b", CLEAN),
        ("", "must be a string of 1-20 characters"),
    ],
)
def test_a_nickname_with_no_visible_character_is_refused(nickname: str, reason: str) -> None:
    body = {"username": "alice", "password": "long enough", "nickname": nickname}
    assert reasons(RegisterBody, body) == {"nickname": reason}
    assert reasons(AccountEditBody, {"nickname": nickname}) == {"nickname": reason}


@pytest.mark.parametrize("nickname", ["Zoë", "李小龍", "😀", "e\u0301", "…", "\u3164x"])
def test_a_nickname_with_a_visible_character_in_any_script_is_taken(nickname: str) -> None:
    assert parse(AccountEditBody, {"nickname": nickname}, POLICY).nickname == nickname


def test_a_login_name_keeps_what_is_not_ascii_so_it_matches_no_account() -> None:
    assert parse(LoginBody, {"username": "\u212aelvin1", "password": "x"}).username == (
        "\u212aelvin1"
    )
    assert parse(LoginBody, {"username": "\u0130VAN1", "password": "x"}).username == "\u0130van1"
    registered = parse(RegisterBody, {"username": "KELVIN1", "password": "long enough"}, POLICY)
    assert registered.username == "kelvin1"
    assert "username" in reasons(RegisterBody, {"username": "\u212aelvin1", "password": "x" * 9})
