"""Strict JSON request bodies: the accepted media type and the parsing rules."""

from __future__ import annotations

import pytest

from factsvc.errors import InvalidInput
from factsvc.handlers.json_body import MAX_NESTING, is_json_media_type, parse_json_object


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        " application/json ",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_json_in_utf8_is_accepted(content_type: str) -> None:
    assert is_json_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json-patch+json",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ],
)
def test_other_media_types_and_charsets_are_refused(content_type: str | None) -> None:
    assert not is_json_media_type(content_type)


def reason(body: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_json_object(body)
    return caught.value.errors["body"]


def test_an_object_is_parsed() -> None:
    assert parse_json_object(b'{"a": [1, {"b": "\xc3\xa9"}], "c": null}') == {
        "a": [1, {"b": "é"}],
        "c": None,
    }


@pytest.mark.parametrize(
    "body", [b"", b"{", b'{"a": 1,}', b"{'a': 1}", b'{"a": "\xff"}', b'{"a": 1} x']
)
def test_malformed_json_or_utf8_is_refused(body: bytes) -> None:
    assert reason(body) == "must be a JSON object in UTF-8"


@pytest.mark.parametrize("body", [b"[]", b"1", b'"text"', b"null", b"true"])
def test_a_value_other_than_an_object_is_refused(body: bytes) -> None:
    assert reason(body) == "must be a JSON object"


def test_duplicate_keys_are_refused_by_name_even_when_nested() -> None:
    assert reason(b'{"a": 1, "a": 2}') == 'duplicate key: "a"'
    assert reason(b'{"a": {"b": 1, "c": 2, "b": 1}}') == 'duplicate key: "b"'
    assert reason(b'{"x": 1, "y": 2, "y": 3, "x": 4}') == 'duplicate key: "y"'
    assert reason(b'[{"a": 1, "a": 2}]') == 'duplicate key: "a"'


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (b"session", '"session"'),
        (b'a\\nb\\"c', '"a\\nb\\"c"'),
        ("caf\u00e9\u202e".encode(), '"caf\\u00e9\\u202e"'),
        (b"\\ud800", '"\\ud800"'),
        (b"k" * 41, '"' + "k" * 40 + '"...'),
        (b"k" * 40, '"' + "k" * 40 + '"'),
    ],
)
def test_a_duplicate_key_is_shown_escaped_in_ascii_and_cut(key: bytes, shown: str) -> None:
    body = b'{"' + key + b'": 1, "' + key + b'": 2}'
    assert reason(body) == "duplicate key: " + shown
    assert reason(body).isascii()


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(constant: bytes) -> None:
    assert reason(b'{"a": ' + constant + b"}") == "must be a JSON object in UTF-8"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"a": ["ok", {"b": "x\\udc00y"}]}',
    ],
)
def test_lone_surrogates_in_keys_or_strings_are_refused(body: bytes) -> None:
    assert reason(body) == "must not contain lone surrogates"


def test_an_escaped_surrogate_pair_is_text() -> None:
    assert parse_json_object(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def nested(depth: int) -> bytes:
    """An object whose innermost array is `depth` levels down, the object counting as one."""
    return b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_nesting_is_accepted_up_to_the_limit() -> None:
    assert parse_json_object(nested(MAX_NESTING))


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 400, 900, 5000])
def test_deeper_nesting_is_a_bad_request_never_a_crash(depth: int) -> None:
    assert reason(nested(depth)) in {
        f"must not nest deeper than {MAX_NESTING} levels",
        "must be a JSON object in UTF-8",  # the parser's own limit, reached first
    }
