"""The OpenAPI 3.1 document, built from the route table and the models, and its stable text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from factsvc import __version__
from factsvc.api_schema.caching import IF_NONE_MATCH, IF_NONE_MATCH_REF, NO_STORE_CACHING
from factsvc.api_schema.defaults import (
    SESSION_COOKIE,
    SESSION_COOKIE_IN_DEBUG,
    SESSION_COOKIE_SAMESITE,
)
from factsvc.api_schema.errors import ERROR_RESPONSES, SERVER_ERROR, ErrorResponse, RequestId
from factsvc.api_schema.headers import IDEMPOTENCY_KEY_REF, PARAMETERS
from factsvc.api_schema.implied import (
    CONTENT_LENGTH,
    status_header_components,
    status_headers,
    with_head,
)
from factsvc.api_schema.json_schema import SchemaRegistry
from factsvc.api_schema.operation import (
    SECURITY_SCHEMES,
    BinaryBody,
    Operation,
    PathParameter,
    Route,
)
from factsvc.handlers.cors import EXPOSED_HEADERS
from factsvc.request_context import ACCEPTED_REQUEST_ID

OPENAPI_VERSION = "3.1.0"
# Bytes, in a request or an answer (OpenAPI 3.0's form, which 3.1 tools still read).
BINARY = {"type": "string", "format": "binary"}


def _error_summary() -> str:
    return ", ".join(
        f"{response.status} code {' or '.join(map(str, response.codes))} ({response.name})"
        for response in sorted(ERROR_RESPONSES, key=lambda response: response.status)
    )


def _exposed_headers() -> str:
    *first, last = (f"`{name}`" for name in EXPOSED_HEADERS.split(", "))
    return f"{', '.join(first)} and {last}"


INFO = {
    "title": "factsvc",
    "version": __version__,
    "summary": "Exact factorials cached in Redis, and user accounts with sessions.",
    "description": (
        "Every response is a JSON object "
        '`{"code": <int>, "message": <str>, ...}` with `Content-Type: application/json; '
        "charset=UTF-8`, but for the successful answers of this document, the metrics, avatar "
        "images and the pages mailed links open (with their script and stylesheet), which are "
        'what their media types say. `code` 0 means success, with `message` "". Errors, each '
        f"described under `components.responses`: {_error_summary()}. Every error body also "
        "carries "
        "`request_id`, the same id as the `X-Request-ID` response header; a client may send "
        f"its own `X-Request-ID` (`{ACCEPTED_REQUEST_ID.pattern}`, anything else is replaced). "
        "Pages on the origins listed in `CORS_ORIGINS` may read every answer, errors included, "
        f"and its {_exposed_headers()} headers; their preflights pass on any path and for any "
        "method, so that the page reads the real request's 404 or 405."
    ),
    "license": {"name": "MIT", "identifier": "MIT"},
}
REQUEST_ID = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
SET_COOKIE = {
    "Set-Cookie": {
        "description": f"The signed session cookie (`{SESSION_COOKIE}`; "
        f"`{SESSION_COOKIE_IN_DEBUG}` in DEBUG): HttpOnly, Path=/, no Domain, "
        f"SameSite={SESSION_COOKIE_SAMESITE} unless SESSION_COOKIE_SAMESITE says otherwise, "
        "Secure outside DEBUG.",
        "schema": {"type": "string"},
    }
}


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    """The whole document as JSON-ready values: paths from `routes`, schemas from the models
    they name. Raises ValueError when two different schemas claim one component name."""
    registry = SchemaRegistry()
    routes = tuple(routes)
    paths = {
        route.path: {
            op.method: _operation(op, registry, route.parameters)
            for op in with_head(route.operations)
        }
        for route in routes
    }
    tags = dict.fromkeys(
        tag for item in paths.values() for op in item.values() for tag in op["tags"]
    )
    responses = {response.name: _error_response(response, registry) for response in ERROR_RESPONSES}
    headers = {
        "RetryAfter": {
            "description": "Seconds to wait before retrying; the body's `retry_after` repeats it.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "RequestId": {
            "description": "The request's id: the client's X-Request-ID when it has the shape "
            f"`{ACCEPTED_REQUEST_ID.pattern}`, else a new one. Error bodies repeat it as "
            "`request_id`.",
            "required": True,
            "schema": registry.type_schema(RequestId),
        },
        **status_header_components(),
    }
    cachings = (op.caching for route in routes for op in route.operations)
    for caching in dict.fromkeys((NO_STORE_CACHING, *cachings)):
        headers |= caching.header_components()
    return {
        "openapi": OPENAPI_VERSION,
        "info": INFO,
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": registry.definitions,
            "parameters": {**PARAMETERS, "IfNoneMatch": IF_NONE_MATCH},
            "responses": responses,
            "headers": headers,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render(document: dict[str, Any]) -> str:
    """The document's committed text: two-space indents, UTF-8 as is, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _operation(
    op: Operation, registry: SchemaRegistry, path_parameters: tuple[PathParameter, ...] = ()
) -> dict[str, Any]:
    result: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description is not None:
        result["description"] = op.description
    result["tags"] = [op.tag]
    result["security"] = op.security.requirements()
    parameters = [parameter.schema() for parameter in path_parameters]
    parameters += [IDEMPOTENCY_KEY_REF] if op.idempotent else []
    if op.query is not None:
        parameters += _query_parameters(registry.inline(op.query, "validation"))
    if op.caching.validator is not None:
        parameters.append(IF_NONE_MATCH_REF)
    if parameters:
        result["parameters"] = parameters
    if isinstance(op.body, BinaryBody):
        result["requestBody"] = {
            "required": True,
            "description": op.body.description,
            "content": {media_type: {"schema": BINARY} for media_type in op.body.media_types},
        }
    elif op.body is not None:
        schema = registry.reference(op.body.name, op.body.model, "validation")
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    success: dict[str, Any] = {
        "description": op.answer_description,
        "content": {op.media_type: {"schema": _answer_schema(op, registry)}},
        "headers": {
            **(SET_COOKIE if op.sets_cookie else {}),
            **op.caching.headers(),
            **REQUEST_ID,
        },
    }
    if op.method == "head":
        success["headers"] = {**CONTENT_LENGTH, **success["headers"]}
    if op.links:
        success["links"] = dict(op.links)
    errors = sorted([*op.errors, SERVER_ERROR], key=lambda response: response.status)
    not_modified = (
        {} if op.caching.validator is None else {"304": op.caching.not_modified(REQUEST_ID)}
    )
    result["responses"] = {
        str(op.status): success,
        **not_modified,
        **{str(e.status): {"$ref": f"#/components/responses/{e.name}"} for e in errors},
    }
    if len(result["responses"]) != len(errors) + 1 + len(not_modified):
        raise ValueError(f"{op.operation_id}: two responses for one status")
    return result


def _answer_schema(op: Operation, registry: SchemaRegistry) -> dict[str, Any]:
    if op.answer is None:
        return {"type": "string"} if op.media_type.startswith("text/") else dict(BINARY)
    return registry.inline(op.answer, "serialization")


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAPI Parameter Objects from a query model's schema: one per field, its description
    on the parameter rather than in the schema."""
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema["properties"].items():
        field_schema = dict(field_schema)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        parameter["schema"] = field_schema
        parameters.append(parameter)
    return parameters


def _error_response(response: ErrorResponse, registry: SchemaRegistry) -> dict[str, Any]:
    schema = registry.inline(response.body, "serialization")
    codes = response.codes
    schema["properties"]["code"] = {"const": codes[0]} if len(codes) == 1 else {"enum": list(codes)}
    return {
        "description": response.description,
        "content": {"application/json": {"schema": schema}},
        "headers": {
            **response.headers,
            **status_headers(response.status),
            **NO_STORE_CACHING.headers(),
            **REQUEST_ID,
        },
    }
