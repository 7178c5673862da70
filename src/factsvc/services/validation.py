"""Field rules for account requests: exact types, bounded lengths, allow-listed names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping

from factsvc.errors import InvalidInput

USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,19}")
GENDERS = frozenset({"m", "f", "i"})
PASSWORD_MIN, PASSWORD_MAX = 8, 128
NICKNAME_MIN, NICKNAME_MAX = 1, 20


class FieldErrors:
    """Collects one reason per field, so that a client learns every problem at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, reason: str) -> None:
        self.errors.setdefault(field, reason)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def check_field_names(
    body: Mapping[str, object],
    errors: FieldErrors,
    *,
    required: Collection[str] = (),
    optional: Collection[str] = (),
) -> None:
    for name in body:
        if name not in required and name not in optional:
            errors.add(name, "is not an accepted field")
    for name in required:
        if name not in body:
            errors.add(name, "is required")


def is_encodable(value: str) -> bool:
    """False for text holding lone surrogates, which no UTF-8 byte string can carry."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_clean_text(value: str) -> bool:
    """Encodable as UTF-8, free of control and format characters and line separators."""
    return is_encodable(value) and not any(
        unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for char in value
    )


def username(value: object, errors: FieldErrors) -> str | None:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        errors.add("username", "must be 3-20 ASCII letters, digits or '_', starting with a letter")
        return None
    return value.lower()


def password(
    value: object, errors: FieldErrors, field: str, common: Collection[str], username: str | None
) -> str | None:
    if not isinstance(value, str):
        errors.add(field, "must be a string")
        return None
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        errors.add(field, f"must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
        return None
    if not is_encodable(value):
        errors.add(field, "must be valid Unicode text")
        return None
    if value.lower() in common or (username is not None and value.lower() == username):
        errors.add(field, "is too common; choose another")
        return None
    return value


def nickname(value: object, errors: FieldErrors) -> str | None:
    if not isinstance(value, str) or not NICKNAME_MIN <= len(value) <= NICKNAME_MAX:
        errors.add("nickname", f"must be a string of {NICKNAME_MIN}-{NICKNAME_MAX} characters")
        return None
    if not is_clean_text(value) or value != value.strip():
        errors.add("nickname", "must not contain control characters or surrounding spaces")
        return None
    return value


def gender(value: object, errors: FieldErrors) -> str | None:
    if not isinstance(value, str) or value not in GENDERS:
        errors.add("gender", "must be 'm', 'f' or 'i'")
        return None
    return value
