"""What the document derives from HTTP rules the service applies to every route: a HEAD operation
for each GET, and the headers every answer of a status carries (WWW-Authenticate on a 401)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from factsvc.api_schema.operation import Operation
from factsvc.handlers.error_map import HEADERS_BY_STATUS

CONTENT_LENGTH = {
    "Content-Length": {
        "description": "The length of the body GET would send (after its Content-Encoding).",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def with_head(operations: Iterable[Operation]) -> Iterator[Operation]:
    """Each operation, each GET followed by its HEAD (BaseHandler serves HEAD on every GET
    route: RFC 9110 §9.3.2, the same status and headers, no body)."""
    for op in operations:
        yield op
        if op.method == "get":
            yield head_of(op)


def head_of(get: Operation) -> Operation:
    """The HEAD twin of a GET operation: its responses, no body; operationId `head<Name>`
    (`getFactorial` -> `headFactorial`, `isLogined` -> `headIsLogined`)."""
    name = get.operation_id.removeprefix("get")
    return dataclasses.replace(
        get,
        method="head",
        operation_id="head" + name[0].upper() + name[1:],
        summary=f"{get.summary}: the headers only",
        description="The status and headers GET would send, Content-Length included, without "
        "the body (RFC 9110 §9.3.2). The content below describes the body GET would send.",
        links={},
    )


def component_name(header: str) -> str:
    """A header's name under components/headers: `WWW-Authenticate` -> `WwwAuthenticate`."""
    return "".join(part.capitalize() for part in header.split("-"))


def status_header_components() -> dict[str, dict[str, Any]]:
    """components/headers for each header of handlers/error_map.py's HEADERS_BY_STATUS."""
    return {
        component_name(name): {
            "description": f"Sent with every {status} answer (RFC 9110 §15.5.2, RFC 6750 §3): "
            "the bearer token from /login authenticates; browsers use the session cookie.",
            "required": True,
            "schema": {"type": "string", "const": value},
        }
        for status, headers in HEADERS_BY_STATUS.items()
        for name, value in headers.items()
    }


def status_headers(status: int) -> dict[str, dict[str, str]]:
    """The Header Object references for the headers every `status` answer carries."""
    return {
        name: {"$ref": f"#/components/headers/{component_name(name)}"}
        for name in HEADERS_BY_STATUS.get(status, {})
    }
