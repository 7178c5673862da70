"""The body of POST /account/edit: which fields go together, and the changes it makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import MISSING, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails

from factsvc.services.bodies import Body, Gender, LoginText, Nickname, Password
from factsvc.services.body_reasons import UNICODE, Reasons, problem, with_problems
from factsvc.services.email_address import EmailAddress, email_key

REQUIRED_FOR_CHANGE = "is required to change the password"


class AccountEditBody(Body):
    """At least one field. A new `password` needs the current `old_password`, and
    `old_password` is only accepted with a new `password`."""

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "dependentRequired": {"password": ["old_password"], "old_password": ["password"]},
        }
    )

    nickname: Nickname | MISSING = MISSING
    gender: Gender | MISSING = MISSING
    password: Password | MISSING = MISSING
    email: (
        Annotated[
            EmailAddress | None,
            Field(
                description="A new address is unverified, and a verification mail is sent to "
                "it; the same address (in any case) changes nothing; null removes it."
            ),
        ]
        | MISSING
    ) = MISSING
    old_password: (
        Annotated[
            LoginText,
            Reasons(REQUIRED_FOR_CHANGE, {"string_unicode": UNICODE}),
            Field(description="The current password; required with, and only with, `password`."),
        ]
        | MISSING
    ) = MISSING

    @model_validator(mode="wrap")
    @classmethod
    def _fields_that_go_together(cls, data: Any, handler: Any) -> Any:
        """The rules over several fields, reported along with every single field's problem."""
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            if not data:
                problems.append(problem("body", "must change at least one field"))
            elif "old_password" in data and "password" not in data:
                problems.append(problem("old_password", "is only accepted with a new password"))
            elif "password" in data and "old_password" not in data:
                problems.append(problem("old_password", REQUIRED_FOR_CHANGE))
        return with_problems(cls.__name__, problems, lambda: handler(data))

    def password_change(self) -> tuple[str, str] | None:
        """(old_password, password) when this edit changes the password, else None."""
        if self.password is MISSING or self.old_password is MISSING:
            return None
        return self.old_password, self.password

    def profile_changes(self) -> dict[str, str]:
        """The nickname and gender this edit sets, by field name."""
        changes = {"nickname": self.nickname, "gender": self.gender}
        return {name: value for name, value in changes.items() if value is not MISSING}

    def email_changes(self, current: str | None) -> dict[str, str | None]:
        """{"email": the new normalised address, or None to remove it} when this edit changes
        the address from `current`; {} when it names none, or the same one in any case."""
        new = self.email
        if (
            new is MISSING
            or new == current
            or (new and current and email_key(new) == email_key(current))
        ):
            return {}
        return {"email": new}
