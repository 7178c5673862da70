"""The request body that ends sessions: one session by its id, or all but the current one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import MISSING, AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails

from factsvc.services.bodies import Body
from factsvc.services.body_reasons import UNICODE, Reasons, problem, refusal, with_problems

# A session's public id (services/session_list.py's public_id): this many lowercase hex digits.
SESSION_ID_LENGTH = 16
SESSION_ID_PATTERN = f"^[0-9a-f]{{{SESSION_ID_LENGTH}}}$"
ONE_OF = "must hold either 'id' or 'all'"

SessionId = Annotated[
    str,
    Field(
        pattern=SESSION_ID_PATTERN,
        description="A session's `id`, as GET /account/sessions lists it.",
    ),
    Reasons(
        f"must be {SESSION_ID_LENGTH} lowercase hexadecimal digits", {"string_unicode": UNICODE}
    ),
]


def _true(value: bool) -> bool:
    if value is not True:
        raise refusal("must be true")
    return value


class RevokeSessionsBody(Body):
    """Exactly one field: `id` ends that session of the user (the current one too), `all`
    ends every session of the user but the current one."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    id: SessionId | MISSING = MISSING
    all: (
        Annotated[
            bool,
            # Not Literal[True]: it takes 1 too (1 == True in Python), strict or not.
            Field(
                description="`true`: end every session but the one of this request.",
                json_schema_extra={"const": True},
            ),
            Reasons("must be true"),
            AfterValidator(_true),
        ]
        | MISSING
    ) = MISSING

    @model_validator(mode="wrap")
    @classmethod
    def _exactly_one(cls, data: Any, handler: Any) -> Any:
        """Neither or both fields: one problem under `body`, with each field's own."""
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping) and ("id" in data) == ("all" in data):
            problems.append(problem("body", ONE_OF))
        return with_problems(cls.__name__, problems, lambda: handler(data))

    def session_id(self) -> str | None:
        """The id of the one session to end, or None when the body asks for all others."""
        return None if self.id is MISSING else self.id
