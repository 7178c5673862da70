"""Request bodies of password reset: /password/forgot and /password/reset, each rule declared
once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import MISSING, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails

from factsvc.services.bodies import Body, Password, Username
from factsvc.services.body_reasons import UNICODE, Reasons, problem, with_problems
from factsvc.services.email_address import EmailAddress, email_key

ONE_OF = "must hold exactly one of 'email' or 'username'"

TOKEN_TEXT_MAX = 128
MailedToken = Annotated[
    str,
    Field(
        max_length=TOKEN_TEXT_MAX,
        description="The token of the mailed link (what follows `#token=`). An unknown, "
        "malformed, used, expired or void one is refused alike (400, code 1002).",
    ),
    Reasons(
        f"must be a string of at most {TOKEN_TEXT_MAX} characters", {"string_unicode": UNICODE}
    ),
]


class ForgotPasswordBody(Body):
    """Who forgot their password: exactly one of the account's email address or its
    username."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    email: (
        Annotated[EmailAddress, Field(description="The account's address, in any case.")] | MISSING
    ) = MISSING
    username: (
        Annotated[Username, Field(description="The account's username, in any case.")] | MISSING
    ) = MISSING

    @model_validator(mode="wrap")
    @classmethod
    def _exactly_one(cls, data: Any, handler: Any) -> Any:
        """Neither or both: one problem under `body`, along with every field's own."""
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping) and ("email" in data) == ("username" in data):
            problems.append(problem("body", ONE_OF))
        return with_problems(cls.__name__, problems, lambda: handler(data))

    def subject(self) -> str:
        """Whom the request is about, as the per-address limit counts it: the address's
        uniqueness key (email_key: any case is one address) or the normalised username."""
        if self.email is not MISSING:
            return "email:" + email_key(self.email)
        assert self.username is not MISSING
        return "username:" + self.username


class ResetPasswordBody(Body):
    """A new password, with the token of a mailed reset link."""

    token: MailedToken
    password: Password
