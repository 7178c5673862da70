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
REQUIRED_FOR_ADDRESS = "is required to change the email address"
ONLY_WITH_CHANGE = "is only accepted with a new password or email address"


class AccountEditBody(Body):
    """At least one field. A new `password` needs the current `old_password`, and
    `old_password` is only accepted with a `password` or an `email`. An `email` that changes or
    removes the account's address needs it too (400 without it): whether it does is known only
    against the account's address, so no schema keyword states it."""

    model_config = ConfigDict(
        json_schema_extra={"minProperties": 1, "dependentRequired": {"password": ["old_password"]}}
    )

    nickname: Nickname | MISSING = MISSING
    gender: Gender | MISSING = MISSING
    password: Password | MISSING = MISSING
    email: (
        Annotated[
            EmailAddress | None,
            Field(
                description="A new address is unverified, and a verification mail is sent to "
                "it; the same address (in any case) changes nothing; null removes it. "
                "Changing or removing it needs `old_password` (400 without it, 403 when wrong)."
            ),
        ]
        | MISSING
    ) = MISSING
    old_password: (
        Annotated[
            LoginText,
            Reasons(REQUIRED_FOR_CHANGE, {"string_unicode": UNICODE}),
            Field(
                description="The current password: required with `password`, and with an "
                "`email` that changes or removes the account's address; accepted only with one "
                "of them. A wrong one is refused (403, code 1001) and counted as a failed login "
                "of the account."
            ),
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
            elif "old_password" in data and "password" not in data and "email" not in data:
                problems.append(problem("old_password", ONLY_WITH_CHANGE))
            elif "password" in data and "old_password" not in data:
                problems.append(problem("old_password", REQUIRED_FOR_CHANGE))
        return with_problems(cls.__name__, problems, lambda: handler(data))

    def password_change(self) -> tuple[str, str] | None:
        """(old_password, password) when this edit changes the password, else None."""
        if self.password is MISSING or self.old_password is MISSING:
            return None
        return self.old_password, self.password

    def required_old_password(self, current: str | None) -> str | None:
        """The reason `old_password` is missing (REQUIRED_FOR_ADDRESS) when this edit changes or
        removes the address `current` without it, else None."""
        if self.old_password is MISSING and self.email_changes(current):
            return REQUIRED_FOR_ADDRESS
        return None

    def current_password(self) -> str | None:
        """The `old_password` given (to be checked whenever given), else None."""
        return None if self.old_password is MISSING else self.old_password

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
