"""How a setting is declared (variable, default, area, description) and read back from it."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, ValidatorFunctionWrapHandler
from pydantic.fields import FieldInfo

from factsvc.config.rules import Rule


class Area(Enum):
    """The groups of `.env.example`, in its order; the value is the group's heading."""

    SERVICE = "the service"
    SESSIONS = "sessions (SESSION_COOKIE_SECRET is required when DEBUG=false)"
    PASSWORDS = "passwords and login limits"
    CLIENTS = "browsers and proxies"
    MONGODB = "MongoDB: MONGODB_URI wins over the host/port form"
    REDIS = "Redis: REDIS_URL wins over the host/port form"
    FACTORIALS = "factorials"
    AVATARS = "avatars"
    MAIL = "mail: with SMTP_URL empty, none is sent (serve --embedded keeps it in PATH_DATA/mail)"
    HTTP = "HTTP limits"


def setting(variable: str, default: Any, area: Area, *, secret: bool = False) -> Any:
    """A settings field read from the environment variable `variable`, in `area`; a secret is
    left out of repr. The field's Rule (in `Annotated`) says what it accepts, and the string
    literal under the field (pydantic's attribute docstring) describes it."""
    return Field(
        default, validation_alias=variable, repr=not secret, json_schema_extra={"area": area.name}
    )


def variable_of(field: FieldInfo) -> str:
    """The environment variable a field is read from."""
    assert isinstance(field.validation_alias, str), field
    return field.validation_alias


def description_of(field: FieldInfo) -> str:
    """A field's one-line description (the string under it); every setting must have one."""
    assert field.description, f"{variable_of(field)} has no description"
    return field.description


def area_of(field: FieldInfo) -> Area:
    """The group a field is listed under in `.env.example`."""
    extra = field.json_schema_extra
    assert isinstance(extra, dict), field
    return Area[str(extra["area"])]


def rule_of(field: FieldInfo) -> Rule:
    """The Rule that parses and checks a field's value."""
    return next(item for item in field.metadata if isinstance(item, Rule))


def is_secret(field: FieldInfo) -> bool:
    """Whether a field's value must stay out of repr and error messages."""
    return not field.repr


def variables(model: type[BaseModel]) -> dict[str, str]:
    """Each declared environment variable of `model`, with its field's name, in order."""
    return {variable_of(field): name for name, field in model.model_fields.items()}


def derived_when_empty(
    value: object,
    check: ValidatorFunctionWrapHandler,
    info: ValidationInfo,
    needs: str,
    derive: Callable[[Any], object],
) -> object:
    """A wrap validator's result for a setting whose empty value ("") stands for one derived
    from the earlier field `needs`: `value` checked when it is given, else `derive(needs' value)`
    checked; the empty value as it is when `needs` was itself refused (its own error says
    enough). Raises what `check` raises."""
    if value != "":
        return check(value)
    if needs not in info.data:
        return value
    return check(derive(info.data[needs]))
