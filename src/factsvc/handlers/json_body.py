"""Strict JSON request bodies: the media type accepted, and an object parsed without guesswork."""

from __future__ import annotations

import json
from typing import Any

from factsvc.errors import InvalidInput
from factsvc.handlers.header_values import media_type_of

# Account bodies are flat objects; deeper nesting only costs stack. A bound of our own also
# keeps a body from reaching the interpreter's recursion limit, whose depth varies with the
# caller's stack.
MAX_NESTING = 32
LONE_SURROGATES = "must not contain lone surrogates"
# How much of a duplicate key its reason shows: enough to name any field, never a whole body.
KEY_SHOWN = 40


class DuplicateKey(Exception):
    """An object of the body names a key twice (RFC 8259 §4: its meaning is then unpredictable)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key: {shown_key(key)}")


def is_json_media_type(content_type: str | None) -> bool:
    """True for `application/json` with no charset or UTF-8 (case and quotes aside).

    JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), so any other charset is refused.
    """
    media_type, parameters = media_type_of(content_type)
    charset = parameters.strip().lower().removeprefix("charset=").strip('"')
    return media_type == "application/json" and charset in {"", "utf-8"}


def parse_json_object(body: bytes) -> dict[str, object]:
    """`body` as a JSON object (RFC 8259), strictly.

    UTF-8 only, an object at the top, no duplicate keys, no NaN or Infinity, no lone surrogates
    in keys or strings, at most MAX_NESTING levels of objects and arrays.
    Raises InvalidInput with a reason for the field `body` ("duplicate key: <the key>" for
    a key given twice).
    """
    try:
        value = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
        )
    except DuplicateKey as duplicate:
        raise InvalidInput({"body": str(duplicate)}) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput({"body": "must be a JSON object in UTF-8"}) from None
    if not isinstance(value, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    _check_nesting_and_text(value)
    return value


def _check_nesting_and_text(document: dict[str, Any]) -> None:
    """Walks the document without recursion, so no depth can overflow the stack."""
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise InvalidInput({"body": LONE_SURROGATES})
        elif isinstance(value, dict | list):
            if depth > MAX_NESTING:
                raise InvalidInput({"body": f"must not nest deeper than {MAX_NESTING} levels"})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and not _encodable(key):
                    raise InvalidInput({"body": LONE_SURROGATES})
                pending.append((item, depth + 1))


def _encodable(text: str) -> bool:
    """False when `text` holds a lone surrogate: valid JSON, but not Unicode text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_key(key: str) -> str:
    """`key` as a reason shows it: a JSON string in ASCII (every control character, non-ASCII
    character and lone surrogate escaped), of at most KEY_SHOWN characters, then "..." when
    cut."""
    return json.dumps(key[:KEY_SHOWN]) + ("..." if len(key) > KEY_SHOWN else "")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
