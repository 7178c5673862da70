"""The success bodies the API writes: the envelope `{"code": 0, "message": ""}` and what each
endpoint adds to it. They declare the document; handlers serialise without them (hot path)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from factsvc.api_schema.defaults import MAX_N, SESSION_COOKIE
from factsvc.services.avatar_store import AVATAR_ID
from factsvc.services.bodies import Gender, Nickname, StoredUsername
from factsvc.services.email_address import EMAIL_MAX
from factsvc.services.sessions import TOKEN_PATTERN
from factsvc.services.users import AVATAR_PATH_PREFIX

Token = TypeAliasType(
    "Token",
    Annotated[
        str,
        Field(
            pattern=f"^{TOKEN_PATTERN}$",
            description="The session token, for `Authorization: Bearer`; never in an answer "
            f"that delivers the session as the {SESSION_COOKIE} cookie alone.",
        ),
    ],
)


class Closed(BaseModel):
    """A JSON object with exactly the declared fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class User(Closed):
    """A user as clients see it: exactly these fields."""

    id: str = Field(pattern=r"^[0-9a-f]{24}$")
    username: StoredUsername
    nickname: Nickname
    gender: Gender
    create_time: datetime
    update_time: datetime
    avatar_url: str | None = Field(
        pattern=f"^{AVATAR_PATH_PREFIX}{AVATAR_ID.pattern}$",
        description="The avatar's path (GET /avatars/{id}) relative to the service's root, or "
        "null when the user has none; a new upload gets a new path.",
    )
    email: str | None = Field(
        max_length=EMAIL_MAX,
        description="The account's address in its normalised form, or null when it has none.",
    )
    email_verified: bool = Field(
        description="true once a link mailed to `email` was opened (POST /email/verify); false "
        "for a new or changed address, and when there is none."
    )


class Envelope(Closed):
    """Every success: code 0 and an empty message, then the endpoint's own fields."""

    code: Literal[0]
    message: Literal[""]


class FactAnswer(Envelope):
    n: int = Field(ge=0, le=MAX_N)
    fact: str = Field(
        pattern=r"^[1-9][0-9]*$",
        description="n! in decimal, as a string so that every digit is kept.",
    )
    digits: int = Field(ge=1)
    cached: bool = Field(
        description="true when the service took the value from a cache of its own (its "
        "process's memory or Redis), false when it computed it for this request (or a "
        "concurrent one for the same n). A stored copy of the answer (a browser's, a CDN's, "
        "nginx's) repeats the value from when it was made and says nothing of the service's "
        "caches now."
    )


class Alive(Envelope):
    status: Literal["ok"]


class ReadyDependencies(Closed):
    redis: Literal["ok"]
    mongodb: Literal["ok"]


class Ready(Alive):
    dependencies: ReadyDependencies


class OpenApiDocument(BaseModel):
    """This OpenAPI document itself, not an envelope."""

    model_config = ConfigDict(extra="allow")

    openapi: str = Field(pattern=r"^3\.1\.[0-9]+$")
    info: dict[str, Any]
    paths: dict[str, Any]


class UserAnswer(Envelope):
    user: User


class LoggedIn(Envelope):
    user: User
    # Absent when the session is delivered as the cookie alone (`"session": "cookie"`, or a
    # browser that chose no mode).
    token: Token | SkipJsonSchema[None] = None


class SessionState(Envelope):
    logined: bool
    user: User | None


class LoggedOut(Envelope):
    pass


class AccountDeleted(Envelope):
    pass


class Edited(Envelope):
    user: User
    # Only after a password change by a client that presented its session as a bearer token.
    token: Token | SkipJsonSchema[None] = None
