"""Pydantic models as OpenAPI 3.1 Schema Objects; shared definitions under components/schemas."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

REF_PREFIX = "#/components/schemas/"
Mode = Literal["validation", "serialization"]
# Keywords whose value is one schema, a list of schemas, or a map of names to schemas.
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
# A line break inside a paragraph, as docstrings wrap them.
_WRAPPED = re.compile(r"(?<!\n)\n(?!\n)")


def tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` without what pydantic adds and a reader gains nothing from: titles
    made from class and field names, `type` beside `const`, `"default": null` on fields that
    are left out rather than written as null, and the line breaks of wrapped docstrings."""
    result = {key: value for key, value in schema.items() if key != "title"}
    if isinstance(result.get("description"), str):
        result["description"] = _WRAPPED.sub(" ", result["description"])
    if "const" in result:
        result.pop("type", None)
    if "default" in result and result["default"] is None:
        del result["default"]
    for key in _ONE:
        if isinstance(result.get(key), dict):
            result[key] = tidy(result[key])
    for key in _MANY:
        if key in result:
            result[key] = [tidy(item) for item in result[key]]
    for key in _MAPS:
        if key in result:
            result[key] = {name: tidy(item) for name, item in result[key].items()}
    return result


class SchemaRegistry:
    """The named schemas the document's schemas refer to, collected from every model asked
    for. Raises ValueError when two different schemas claim one name."""

    def __init__(self) -> None:
        self._definitions: dict[str, dict[str, Any]] = {}

    @property
    def definitions(self) -> dict[str, dict[str, Any]]:
        """components/schemas: every named schema, sorted by name."""
        return dict(sorted(self._definitions.items()))

    def inline(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        """`model`'s own schema written out; the models and aliases it uses become references."""
        schema = tidy(model.model_json_schema(ref_template=REF_PREFIX + "{model}", mode=mode))
        self._add_all(schema.pop("$defs", {}))
        return schema

    def type_schema(self, annotation: Any) -> dict[str, Any]:
        """The schema of any type pydantic understands (an Annotated alias, a Literal)."""
        schema = tidy(TypeAdapter(annotation).json_schema(ref_template=REF_PREFIX + "{model}"))
        self._add_all(schema.pop("$defs", {}))
        return schema

    def reference(self, name: str, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        """A reference to `model`'s schema, registered as `name`."""
        self._add(name, self.inline(model, mode))
        return {"$ref": REF_PREFIX + name}

    def _add_all(self, definitions: dict[str, dict[str, Any]]) -> None:
        for name, schema in definitions.items():
            self._add(name, schema)

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        known = self._definitions.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different schemas are both named {name!r}")
