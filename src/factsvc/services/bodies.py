"""Request bodies of the account API: each field's rule, reason and schema, declared once."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import MISSING, AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from factsvc.services.body_reasons import UNICODE, Reasons, refusal
from factsvc.services.email_address import EmailAddress
from factsvc.services.names import has_visible_character, normalized_username

# Lengths in code points, both ends included.
USERNAME_MIN, USERNAME_MAX = 3, 20
PASSWORD_MIN, PASSWORD_MAX = 8, 128
NICKNAME_MIN, NICKNAME_MAX = 1, 20
LOGIN_TEXT_MIN, LOGIN_TEXT_MAX = 1, 128
GenderCode = Literal["m", "f", "i"]
GENDERS: tuple[str, ...] = get_args(GenderCode)
SessionMode = Literal["cookie", "token"]
SESSION_MODES: tuple[str, ...] = get_args(SessionMode)

CLEAN_TEXT = "must not contain control characters or surrounding spaces"
VISIBLE = "must contain a visible character: a letter, digit, punctuation mark or symbol"
# Control, format, surrogate and line/paragraph separator characters (Unicode general categories).
UNCLEAN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class PasswordPolicy:
    """The validation context of bodies that set a password: the refused common passwords
    (compared in lower case) and, when the body does not carry it, the account's username."""

    common: Collection[str]
    username: str | None = None


def _username_pattern(letters: str) -> str:
    """The username rule as a regular expression over `letters` (a character-class range such
    as "A-Za-z"): a letter, then letters, digits or `_`, USERNAME_MIN-USERNAME_MAX in all."""
    return rf"^[{letters}][{letters}0-9_]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}$"


def _one_of(values: Sequence[str], *, quote: str) -> str:
    """The values in `quote`s, as a list in words: "'a', 'b' or 'c'" for quote "'"."""
    quoted = [f"{quote}{value}{quote}" for value in values]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _clean_text(value: str) -> str:
    if value != value.strip() or any(
        unicodedata.category(char) in UNCLEAN_CATEGORIES for char in value
    ):
        raise refusal(CLEAN_TEXT)
    return value


def _visible(value: str) -> str:
    if not has_visible_character(value):
        raise refusal(VISIBLE)
    return value


def _not_common(value: str, info: ValidationInfo) -> str:
    policy = info.context
    if not isinstance(policy, PasswordPolicy):
        raise TypeError("a password is validated with a PasswordPolicy as context")
    username = info.data.get("username", policy.username)
    if value.lower() in policy.common or value.lower() == username:
        raise refusal("is too common; choose another")
    return value


Username = Annotated[
    str,
    Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        pattern=_username_pattern("A-Za-z"),
        description=f"{USERNAME_MIN}-{USERNAME_MAX} ASCII letters, digits and `_`, starting "
        "with a letter; case-insensitive (stored in lower case).",
    ),
    Reasons(
        f"must be {USERNAME_MIN}-{USERNAME_MAX} ASCII letters, digits or '_', "
        "starting with a letter"
    ),
    AfterValidator(normalized_username),
]
# The username as stored and shown: the same rule, in lower case.
StoredUsername = Annotated[
    str,
    Field(
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        pattern=_username_pattern("a-z"),
        description="Stored in lower case.",
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters of any script, used exactly as "
        "sent. The most common passwords and the username itself are refused (400).",
    ),
    Reasons(
        f"must be {PASSWORD_MIN}-{PASSWORD_MAX} characters",
        {"string_type": "must be a string", "string_unicode": UNICODE},
    ),
    AfterValidator(_not_common),
]
Nickname = Annotated[
    str,
    Field(
        min_length=NICKNAME_MIN,
        max_length=NICKNAME_MAX,
        description=f"{NICKNAME_MIN}-{NICKNAME_MAX} characters, no control or format "
        "characters, no surrounding spaces, at least one visible character (a letter, digit, "
        "punctuation mark or symbol; not only spaces, combining marks or blank fillers).",
    ),
    Reasons(
        f"must be a string of {NICKNAME_MIN}-{NICKNAME_MAX} characters",
        {"string_unicode": CLEAN_TEXT},
    ),
    AfterValidator(_clean_text),
    AfterValidator(_visible),
]
Gender = Annotated[
    GenderCode,
    Field(description=_one_of(GENDERS, quote="`") + "."),
    Reasons("must be " + _one_of(GENDERS, quote="'")),
]
LoginText = Annotated[
    str,
    Field(min_length=LOGIN_TEXT_MIN, max_length=LOGIN_TEXT_MAX),
    Reasons(
        f"must be a string of {LOGIN_TEXT_MIN}-{LOGIN_TEXT_MAX} characters",
        {"string_unicode": UNICODE},
    ),
]


class Body(BaseModel):
    """Strict (no coercion: "1" is not 1), closed (extra fields refused), immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)


class RegisterBody(Body):
    """A new account. Registering does not log in."""

    username: Username
    password: Password
    nickname: Nickname = Field(
        default_factory=lambda data: data["username"], description="Default: the username."
    )
    gender: Gender = Field(default="i", description="Default: `i`.")
    email: EmailAddress | None = Field(
        default=None,
        description="Default: none. A verification mail is sent to it (POST /email/verify).",
    )


class LoginBody(Body):
    """Credentials for a new session."""

    username: Annotated[
        LoginText,
        AfterValidator(normalized_username),
        Field(
            description="Matched case-insensitively in its ASCII letters only; a name that "
            "breaks the username rule matches no account (401)."
        ),
    ]
    password: Annotated[LoginText, Field(description="Used exactly as sent.")]
    session: (
        Annotated[
            SessionMode,
            Field(
                description="How the client holds its session: `cookie`, the session cookie "
                "alone (no `token`, which page scripts could read); `token`, `token` alone (no "
                "cookie). Absent: `cookie` for a browser (a request with `Origin`, "
                "`Sec-Fetch-Mode` or `Sec-Fetch-Site`), both for any other client. The cookie "
                "for a page on another site (`Sec-Fetch-Site: cross-site`) is refused (400) "
                "unless SESSION_COOKIE_SAMESITE is None."
            ),
            Reasons("must be " + _one_of(SESSION_MODES, quote="'")),
        ]
        | MISSING
    ) = MISSING

    def session_mode(self) -> SessionMode | None:
        """The session mode the client chose, or None when it chose none."""
        return None if self.session is MISSING else self.session
