"""The OpenAPI document: exactly the application's routes and methods, served as shipped, and
valid OpenAPI 3.1 whose every schema is valid JSON Schema."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
import tornado.web
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from tornado.httpclient import AsyncHTTPClient
from tornado.routing import PathMatches
from tornado.web import RequestHandler

from factsvc.handlers.base import NotFoundHandler
from factsvc.handlers.link_pages import SCRIPT_PATH, STYLE_PATH

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# OPTIONS is BaseHandler's CORS preflight, answered on every route alike; it is not part of the
# documented API (OpenAPI documents do not describe preflights).
UNDOCUMENTED_METHODS = {"options"}
# Paths whose GET answers are not envelopes: the document, the metrics, avatar images, the
# pages of mailed links with their script and stylesheet.
NOT_ENVELOPES = {
    "/openapi.json",
    "/metrics",
    "/avatars/{id}",
    "/email/verify",
    "/password/reset",
    SCRIPT_PATH,
    STYLE_PATH,
}


def load_document() -> dict[str, Any]:
    text = resources.files("factsvc").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def served_methods(handler: type[RequestHandler]) -> set[str]:
    """The methods a handler overrides, as BaseHandler._allowed_methods() reports them."""
    return {
        method.lower()
        for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower()) is not getattr(RequestHandler, method.lower())
    } - UNDOCUMENTED_METHODS


def documented_routes(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {method for method in item if method in HTTP_METHODS}
        for path, item in document["paths"].items()
    }


def test_the_document_describes_exactly_the_routes_and_methods_of_the_application(
    app: tornado.web.Application,
) -> None:
    document = load_document()
    documented = documented_routes(document)
    described: dict[str, set[str]] = {}
    for rule in app.wildcard_router.rules:
        assert isinstance(rule.matcher, PathMatches)
        regex = rule.matcher.regex
        matching = [path for path in documented if regex.fullmatch(with_parameters(document, path))]
        assert len(matching) == 1, f"route {regex.pattern} is documented as {matching}"
        handler = rule.target
        assert isinstance(handler, type)
        assert issubclass(handler, RequestHandler)
        described[matching[0]] = served_methods(handler)
    assert described == documented
    assert app.settings["default_handler_class"] is NotFoundHandler


def with_parameters(document: dict[str, Any], path: str) -> str:
    """`path` with each `{name}` replaced by an example of its parameter's pattern: the
    pattern itself when it is a plain character class repeated, such as [0-9a-f]{24}."""
    for method in document["paths"][path].values():
        for parameter in method.get("parameters", ()):
            if parameter.get("in") != "path":
                continue
            pattern = parameter["schema"]["pattern"]
            shape = re.fullmatch(r"\^\[(\w)-\w[^\]]*\]\{(\d+)\}\$", pattern)
            assert shape, f"{path}: no example for {pattern}"
            example = shape.group(1) * int(shape.group(2))
            assert re.fullmatch(pattern, example)
            path = path.replace("{" + parameter["name"] + "}", example)
    return path


def test_path_parameters_are_declared_on_every_operation_of_their_path() -> None:
    document = load_document()
    for path, methods in documented_routes(document).items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method in methods:
            declared = {
                parameter["name"]
                for parameter in document["paths"][path][method].get("parameters", ())
                if parameter.get("in") == "path"
            }
            assert declared == names, f"{method} {path}"


def test_every_operation_has_an_id_a_500_and_only_json_bodies() -> None:
    document = load_document()
    operation_ids = []
    for path, item in documented_routes(document).items():
        for method in item:
            operation = document["paths"][path][method]
            operation_ids.append(operation["operationId"])
            assert "500" in operation["responses"], f"{method} {path}"
            assert "security" in operation, f"{method} {path}: say which credentials it takes"
            if "requestBody" in operation:
                content = operation["requestBody"]["content"]
                if path == "/account/avatar":
                    # The one body of bytes: the image itself.
                    assert set(content) == {"image/png", "image/jpeg", "image/webp"}
                    assert {c["schema"]["format"] for c in content.values()} == {"binary"}
                    continue
                assert set(content) == {"application/json"}
    assert len(operation_ids) == len(set(operation_ids))


@pytest.mark.gen_test
async def test_get_openapi_json_serves_the_shipped_document(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await http_client.fetch(f"{base_url}/openapi.json", raise_error=False)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == load_document()


@pytest.mark.gen_test
async def test_the_document_is_gzipped_for_clients_that_accept_it(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    response = await http_client.fetch(
        f"{base_url}/openapi.json",
        headers={"Accept-Encoding": "gzip"},
        decompress_response=False,
        raise_error=False,
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.body)) == load_document()


def test_the_document_is_valid_openapi_3_1() -> None:
    document = load_document()
    assert document["openapi"].startswith("3.1.")
    OPENAPI_31_VALIDATOR.validate(document)
    # Schemathesis refuses nothing in it either: every operation loads.
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) == sum(len(m) for m in documented_routes(document).values())


def walk(node: object, where: str = "#") -> Iterator[tuple[str, object]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def resolve(document: dict[str, Any], pointer: str) -> object:
    node: object = document
    for part in pointer.removeprefix("#/").split("/"):
        assert isinstance(node, dict), pointer
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_schema_is_valid_json_schema_and_every_reference_resolves() -> None:
    """The OpenAPI meta-schema does not look inside Schema Objects; JSON Schema's does."""
    document = load_document()
    schemas = [
        ("#/components/schemas/" + k, v) for k, v in document["components"]["schemas"].items()
    ]
    schemas += [
        (where, node["schema"])
        for where, node in walk(document)
        if isinstance(node, dict) and isinstance(node.get("schema"), dict)
    ]
    assert len(schemas) > 20
    for where, schema in schemas:
        assert jsonschema_rs.meta.is_valid(schema), where
    for where, node in walk(document):
        if isinstance(node, dict) and "$ref" in node:
            assert resolve(document, node["$ref"]) is not None, where


def test_request_bodies_and_envelopes_are_closed_objects() -> None:
    """additionalProperties is false on every request body and every response envelope."""
    document = load_document()
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object":
            assert schema["additionalProperties"] is False, name
    for path, methods in documented_routes(document).items():
        for method in methods:
            for status, response in document["paths"][path][method]["responses"].items():
                if "$ref" in response:
                    response = resolve(document, response["$ref"])
                if path in NOT_ENVELOPES and method in {"get", "head"} and status == "200":
                    continue  # the document, metrics, images and pages themselves
                if status == "304":
                    assert "content" not in response, f"{method} {path}: a 304 has no body"
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema["additionalProperties"] is False, f"{method} {path} {status}"
                assert {"code", "message"} <= set(schema["required"])
                ok = status.startswith("2")
                assert (schema["properties"]["code"] == {"const": 0}) is ok
                if status in {"429", "503"}:
                    assert "Retry-After" in response["headers"], f"{method} {path} {status}"
