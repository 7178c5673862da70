"""The kinds of value a setting takes: how each parses a variable and what it accepts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from factsvc.config.secret_policy import MIN_SECRET_LENGTH, secret_problem
from factsvc.http_grammar import TOKEN

# The error type of a value its rule refuses; the message then ends with the value given.
VALUE_REFUSED = "setting_value"


class Rule:
    """Pydantic metadata (`Annotated[int, WholeNumber(0, 65535)]`): parses a variable's raw
    string, or checks a value given in Python, into the field's type.

    `accepts` says what it takes, for the documentation; `problem` is the error's wording.
    A refused value becomes a pydantic error of type `VALUE_REFUSED` whose message is `problem`.
    """

    @property
    def accepts(self) -> str:
        raise NotImplementedError

    @property
    def problem(self) -> str:
        return f"must be {self.accepts}"

    def parse(self, value: object) -> object:
        """The value in the field's type; ValueError if refused."""
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self._validate, handler(source))

    def _validate(self, value: object) -> object:
        try:
            return self.parse(value)
        except (ValueError, TypeError):
            raise PydanticCustomError(
                VALUE_REFUSED, "{problem}", {"problem": self.problem}
            ) from None


def as_text(value: object) -> str:
    """`value` if it is a str; TypeError otherwise (strict: no number becomes text)."""
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    return value


@dataclass(frozen=True)
class WholeNumber(Rule):
    """ASCII digits only: no sign, no point, no other script's digits."""

    minimum: int
    maximum: int

    @property
    def accepts(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}"

    def parse(self, value: object) -> int:
        if isinstance(value, str):
            text = value.strip()
            if not text.isascii() or not text.isdigit():
                raise ValueError(text)
            value = int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(type(value).__name__)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(value)
        return value


@dataclass(frozen=True)
class Number(Rule):
    """A decimal number as Python's float() reads it, within the bounds (NaN is refused)."""

    minimum: float
    maximum: float

    @property
    def accepts(self) -> str:
        return f"a number from {self.minimum:g} to {self.maximum:g}"

    def parse(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(type(value).__name__)
        number = float(value.strip() if isinstance(value, str) else value)
        if not self.minimum <= number <= self.maximum:
            raise ValueError(number)
        return number


class Flag(Rule):
    """true/false, 1/0, yes/no, on/off, in any case."""

    accepts = "true or false"

    def parse(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        word = as_text(value).strip().lower()
        if word in {"1", "true", "yes", "on"}:
            return True
        if word in {"0", "false", "no", "off"}:
            return False
        raise ValueError(word)


@dataclass(frozen=True)
class Choice(Rule):
    """One of a few words, compared case-insensitively; the word as declared ("lax" is "Lax")."""

    words: tuple[str, ...]

    @property
    def accepts(self) -> str:
        if len(self.words) == 2:
            return " or ".join(self.words)
        return "one of " + ", ".join(self.words)

    def parse(self, value: object) -> str:
        text = as_text(value).strip()
        by_folded = {word.casefold(): word for word in self.words}
        if text.casefold() not in by_folded:
            raise ValueError(text)
        return by_folded[text.casefold()]


class AbsolutePath(Rule):
    accepts = "an absolute path"

    def parse(self, value: object) -> Path:
        path = value if isinstance(value, Path) else Path(as_text(value))
        if not path.is_absolute():
            raise ValueError(path)
        return path


class Text(Rule):
    """Any text, taken as it is."""

    accepts = "any text"

    def parse(self, value: object) -> str:
        return as_text(value)


class Secret(Text):
    """Any text here; how strong it must be depends on DEBUG (see Settings)."""

    accepts = f"{MIN_SECRET_LENGTH}+ random characters, not a published value"


class CookieName(Rule):
    accepts = "1-64 ASCII letters, digits, '_' or '-'"

    def parse(self, value: object) -> str:
        name = as_text(value).strip()
        if not 1 <= len(name) <= 64 or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in name
        ):
            raise ValueError(name)
        return name


class DatabaseName(Rule):
    accepts = "a MongoDB database name"

    def parse(self, value: object) -> str:
        name = as_text(value).strip()
        if not name or len(name) > 63 or any(c in name for c in '/\\. "$*<>:|?'):
            raise ValueError(name)
        return name


def _items(value: object) -> list[object]:
    """A comma-separated variable's parts, or the items of a tuple or list given in Python."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, tuple | list):
        return list(value)
    raise TypeError(type(value).__name__)


@dataclass(frozen=True)
class ListOf(Rule):
    """Comma-separated items, each checked by `item` (which raises ValueError to refuse)."""

    accepts_text: str
    problem_text: str
    item: Callable[[Any], object]

    @property
    def accepts(self) -> str:
        return self.accepts_text

    @property
    def problem(self) -> str:
        return self.problem_text

    def parse(self, value: object) -> tuple[object, ...]:
        return tuple(self.item(part) for part in _items(value))


def header_name(value: object) -> str:
    """A header field name (an RFC 9110 token) other than `*`, which a credentialed CORS
    request takes literally (Fetch standard, "CORS protocol"); ValueError otherwise."""
    name = as_text(value).strip()
    if not TOKEN.fullmatch(name) or name == "*":
        raise ValueError(name)
    return name


HEADER_NAMES = ListOf(
    "comma-separated header names like X-Request-ID",
    "must be comma-separated header names like X-Request-ID (no *)",
    header_name,
)


def strong_secret(value: object) -> str:
    """`value` if secret_policy finds it strong; ValueError (quoting nothing) otherwise."""
    text = as_text(value)
    if secret_problem(text):
        raise ValueError("weak secret")
    return text


SECRETS = ListOf(
    "comma-separated strong secrets",
    "each previous secret must be a strong secret too",
    strong_secret,
)


def refused_by_relation(problem: str) -> PydanticCustomError:
    """A refusal that depends on another setting, so its message quotes no single value."""
    return PydanticCustomError("setting_relation", "{problem}", {"problem": problem})
