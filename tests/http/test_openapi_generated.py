"""The OpenAPI document is generated from the route table and the models: the committed file is
exactly the generated one, and the table's declarations agree with the application."""

from __future__ import annotations

import inspect
import json
import re
from importlib import resources
from pathlib import Path

import pytest
import tornado.web
from tornado.routing import PathMatches
from tornado.web import RequestHandler

from factsvc.api_schema.__main__ import main as write_document
from factsvc.api_schema.defaults import MAX_N
from factsvc.api_schema.document import build_document, render
from factsvc.api_schema.errors import ERROR_RESPONSES, ErrorResponse
from factsvc.api_schema.operation import Route
from factsvc.observe import route_names
from factsvc.routes import ROUTES

STALE = "is not what the code generates: run `make docs`"


def test_the_committed_document_is_the_generated_one() -> None:
    committed = resources.files("factsvc").joinpath("openapi.json").read_text(encoding="utf-8")
    assert committed == render(build_document(ROUTES)), f"src/factsvc/openapi.json {STALE}"


def test_the_check_says_to_run_make_docs_when_the_file_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "openapi.json"
    assert write_document([str(path)]) == 0
    assert write_document(["--check", str(path)]) == 0
    path.write_text(path.read_text(encoding="utf-8").replace("factsvc", "renamed"))
    assert write_document(["--check", str(path)]) == 1
    assert STALE in capsys.readouterr().err


def test_the_text_is_stable_two_space_json_with_a_final_newline() -> None:
    text = render(build_document(ROUTES))
    assert text == render(build_document(ROUTES))
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def initialize_parameters(handler: type[RequestHandler]) -> set[str]:
    """The named parameters of `handler.initialize` (RequestHandler's own takes none)."""
    parameters = inspect.signature(handler.initialize).parameters.values()
    variadic = {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    return {p.name for p in parameters if p.name != "self" and p.kind not in variadic}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.path)
def test_each_route_needs_exactly_what_its_handler_takes(route: Route) -> None:
    assert set(route.needs) == initialize_parameters(route.handler)


def test_the_application_serves_the_table_and_names_its_routes_by_path(
    app: tornado.web.Application,
) -> None:
    rules = []
    for rule in app.wildcard_router.rules:
        assert isinstance(rule.matcher, PathMatches)
        rules.append((rule.matcher.regex.pattern, rule.target))
    assert rules == [(f"{route.pattern}$", route.handler) for route in ROUTES]
    names = route_names((route.path, route.handler, {}) for route in ROUTES)
    assert names == {route.handler: route.path for route in ROUTES}


def test_every_link_names_an_operation_of_the_document() -> None:
    document = build_document(ROUTES)
    operations = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }
    links = [
        link["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert links
    assert set(links) <= operations


def test_the_fact_bound_in_the_document_is_fact_max_n_default() -> None:
    document = build_document(ROUTES)
    parameters = document["paths"]["/fact"]["get"]["parameters"]
    (parameter,) = [parameter for parameter in parameters if parameter.get("name") == "n"]
    assert str(MAX_N) in parameter["description"]
    assert str(MAX_N) in parameter["schema"]["examples"]
    answer = document["paths"]["/fact"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["properties"]["n"]["maximum"] == MAX_N


@pytest.mark.parametrize("response", ERROR_RESPONSES, ids=lambda response: response.name)
def test_each_error_response_says_the_codes_the_error_table_gives_its_causes(
    response: ErrorResponse,
) -> None:
    stated = {int(code) for code in re.findall(r"\(code (\d+)\)", response.description)}
    assert stated == set(response.codes)
    schema = build_document(ROUTES)["components"]["responses"][response.name]
    code = schema["content"]["application/json"]["schema"]["properties"]["code"]
    assert code in ({"const": response.codes[0]}, {"enum": list(response.codes)})
