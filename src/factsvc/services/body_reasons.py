"""What a client is told about a refused body: pydantic's errors as one reason per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from factsvc.errors import InvalidInput

# The error type of a failure whose message is already the reason a client is told.
REASON = "factsvc_reason"
UNICODE = "must be valid Unicode text"
# Field-independent reasons.
GENERIC = {"missing": "is required", "extra_forbidden": "is not an accepted field"}
# Unknown fields are reported first, then missing ones, then the rest in field order.
FIRST = {"extra_forbidden": 0, "missing": 1}


@dataclass(frozen=True)
class Reasons:
    """What a client is told when a value breaks its field's rule: `otherwise`, unless pydantic's
    error type (e.g. "string_type", "string_unicode") is named in `by_error`. Declared in the
    field's Annotated type, next to the rule."""

    otherwise: str
    by_error: Mapping[str, str] = field(default_factory=dict, hash=False)


# For a failure that belongs to no declared field (e.g. the whole body).
BODY = Reasons("must be a JSON object", {"string_unicode": UNICODE})
M = TypeVar("M", bound=BaseModel)


def refusal(reason: str) -> PydanticCustomError:
    """A validation failure whose message is `reason` as is (reasons hold no format braces)."""
    return PydanticCustomError(REASON, reason)


def problem(name: str, reason: str) -> InitErrorDetails:
    """A failure of a rule over several fields, reported under `name`."""
    return {"type": refusal(reason), "loc": (name,), "input": None}


def with_problems(title: str, problems: Sequence[InitErrorDetails], validate: Callable[[], M]) -> M:
    """`validate()`'s model, or one ValidationError holding `problems` first and then every
    error of the fields: for a model's wrap validator, so that a client learns all at once."""
    try:
        model = validate()
    except ValidationError as error:
        errors = [*problems, *map(_reraisable, error.errors())]
        raise ValidationError.from_exception_data(title, errors) from None
    if problems:
        raise ValidationError.from_exception_data(title, list(problems))
    return model


def _reraisable(error: ErrorDetails) -> InitErrorDetails:
    kind = error["type"]
    details: InitErrorDetails = {
        "type": refusal(error["msg"]) if kind == REASON else kind,
        "loc": error["loc"],
        "input": error["input"],
    }
    if "ctx" in error and kind != REASON:
        details["ctx"] = error["ctx"]
    return details


def parse(model: type[M], body: Mapping[str, object], context: object = None) -> M:
    """The body as `model` (validated with `context`), or InvalidInput with one reason per
    field, the first problem found."""
    try:
        return model.model_validate(dict(body), context=context)
    except ValidationError as error:
        raise invalid_input(model, error) from None


def invalid_input(model: type[BaseModel], error: ValidationError) -> InvalidInput:
    """Pydantic's errors as our reasons, one per field: a custom failure's own message, the
    generic reasons, else the field's declared Reasons."""
    order = {name: index for index, name in enumerate(model.model_fields)}

    def name_of(item: ErrorDetails) -> str:
        return str(item["loc"][0]) if item["loc"] else "body"

    def rank(item: ErrorDetails) -> tuple[int, int]:
        return FIRST.get(item["type"], 2), order.get(name_of(item), len(order))

    errors: dict[str, str] = {}
    # Stable: a rule over several fields, listed first, wins over that field's own problem.
    for item in sorted(error.errors(), key=rank):
        kind, name = item["type"], name_of(item)
        # An earlier field failed, so a default computed from it was not: not a problem itself.
        if kind == "default_factory_not_called":
            continue
        if kind == REASON:
            reason = item["msg"]
        elif kind in GENERIC:
            reason = GENERIC[kind]
        else:
            reasons = _declared_reasons(model.model_fields.get(name))
            reason = reasons.by_error.get(kind, reasons.otherwise)
        errors.setdefault(name, reason)
    return InvalidInput(errors)


def _declared_reasons(info: FieldInfo | None) -> Reasons:
    if info is None:
        return BODY
    found = [item for item in info.metadata if isinstance(item, Reasons)]
    pending: list[Any] = [info.annotation]
    for annotation in pending:  # grows as it goes: the types inside unions and aliases
        metadata = getattr(annotation, "__metadata__", ())
        found.extend(item for item in metadata if isinstance(item, Reasons))
        pending.extend(get_args(annotation))
    # Nested Annotated types flatten inner first: the last is the field's own refinement.
    return found[-1] if found else BODY
