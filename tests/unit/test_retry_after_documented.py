"""The document says of each error answer what the service writes: a body carries
`retry_after` exactly when the answer carries Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from factsvc.api_schema.document import build_document
from factsvc.api_schema.errors import ERROR_RESPONSES, ErrorResponse
from factsvc.routes import ROUTES

DOCUMENT = build_document(ROUTES)


def body_schema(response: ErrorResponse) -> dict[str, Any]:
    answer = DOCUMENT["components"]["responses"][response.name]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def retry_after_header(response: ErrorResponse) -> dict[str, Any] | None:
    """The Retry-After Header Object of `response`, its reference resolved; None if it has none."""
    headers: dict[str, Any] = DOCUMENT["components"]["responses"][response.name]["headers"]
    header: dict[str, Any] | None = headers.get("Retry-After")
    if header is not None and "$ref" in header:
        resolved: dict[str, Any] = DOCUMENT["components"]["headers"][header["$ref"].rsplit("/")[-1]]
        return resolved
    return header


@pytest.mark.parametrize("response", ERROR_RESPONSES, ids=lambda response: response.name)
def test_a_body_documents_retry_after_exactly_when_its_answer_carries_the_header(
    response: ErrorResponse,
) -> None:
    header, schema = retry_after_header(response), body_schema(response)
    if header is None:
        assert "retry_after" not in schema["properties"]
        return
    assert schema["properties"]["retry_after"]["type"] == "integer"
    assert ("retry_after" in schema["required"]) is header["required"]


def test_429_and_503_bodies_always_carry_retry_after() -> None:
    required = {r.status for r in ERROR_RESPONSES if "retry_after" in body_schema(r)["required"]}
    assert {429, 503} <= required
