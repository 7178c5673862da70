"""The pieces the OpenAPI document is built with: the bound pattern of `n`, and pydantic schemas
turned into tidy Schema Objects with their definitions under components/schemas."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from factsvc.api_schema.json_schema import SchemaRegistry, tidy
from factsvc.api_schema.parameters import at_most


@pytest.mark.parametrize("bound", [0, 1, 5, 9, 10, 19, 100, 987, 2099, 12345, 100_000])
def test_the_n_pattern_accepts_exactly_the_numbers_up_to_its_bound(bound: int) -> None:
    pattern = re.compile(at_most(bound))
    for n in range(3 * bound + 30):
        for written in (str(n), f"00{n}"):
            assert (pattern.fullmatch(written) is not None) is (n <= bound), written
    for refused in ("", "+1", "-0", "1.0", " 1", "1e3", "٣"):
        assert pattern.fullmatch(refused) is None, refused


def test_the_default_bound_gives_the_pattern_the_document_always_had() -> None:
    assert at_most(100_000) == "^0*(?:[0-9]{1,5}|100000)$"


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["ok"]


class Outer(BaseModel):
    """A wrapped
    docstring."""

    model_config = ConfigDict(extra="forbid")
    code: Literal[0]
    inner: Inner
    absent: str | SkipJsonSchema[None] = None


def test_schemas_lose_titles_types_beside_const_null_defaults_and_docstring_wraps() -> None:
    schema = SchemaRegistry().inline(Outer, "serialization")
    assert schema == {
        "additionalProperties": False,
        "description": "A wrapped docstring.",
        "properties": {
            "code": {"const": 0},
            "inner": {"$ref": "#/components/schemas/Inner"},
            "absent": {"type": "string"},
        },
        "required": ["code", "inner"],
        "type": "object",
    }


def test_nested_models_become_named_components() -> None:
    registry = SchemaRegistry()
    assert registry.reference("OuterRequest", Outer, "validation") == {
        "$ref": "#/components/schemas/OuterRequest"
    }
    assert set(registry.definitions) == {"Inner", "OuterRequest"}
    assert registry.definitions["Inner"]["properties"] == {"state": {"const": "ok"}}


def test_two_different_schemas_under_one_name_are_refused() -> None:
    class Inner(BaseModel):  # same name, other shape
        other: int = Field(ge=1)

    class Elsewhere(BaseModel):
        inner: Inner

    registry = SchemaRegistry()
    registry.inline(Outer, "validation")
    with pytest.raises(ValueError, match="Inner"):
        registry.inline(Elsewhere, "validation")


def test_a_property_named_title_is_kept() -> None:
    schema = {"title": "X", "properties": {"title": {"type": "string", "title": "Title"}}}
    assert tidy(schema) == {"properties": {"title": {"type": "string"}}}
