"""Schemathesis fuzzes the real service, started as a process with embedded backends, against
src/factsvc/openapi.json: no 5xx, every response as documented, invalid input refused; and the
account chain register -> login -> info -> edit -> logout, each answer checked against the
document."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from factsvc.embedded import free_port
from tests.support.servers import STRONG_SECRET

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = 20
SECURED = {
    "/logout",
    "/account/info",
    "/account/edit",
    "/account/delete",
    "/account/avatar",
    "/account/sessions",
    "/account/sessions/revoke",
    "/account/email/verification",
}
PASSWORD = "Fuzz-account-" + secrets.token_hex(8)


def load_document() -> dict[str, Any]:
    text = resources.files("factsvc").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


class Service:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.port = process, port
        self.base_url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the service exited at start"
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.2)
        raise AssertionError("the service did not become ready")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`python -m factsvc serve --embedded`, production mode, one process, generous limits."""
    data: Path = tmp_path_factory.mktemp("schemathesis")
    port = free_port()
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PATH_DATA": str(data),
        "DEBUG": "false",
        "SESSION_COOKIE_SECRET": STRONG_SECRET,
        "TORNADO_SERVER_PORT": str(port),
        "TORNADO_SERVER_ADDRESS": "127.0.0.1",
        "TORNADO_SERVER_NUMPROCS": "1",
        "LOGGING_LOGGER_LEVEL": "WARNING",
        "BCRYPT_ROUNDS": "10",
        "LOGIN_ACCOUNT_MAX_FAILURES": "100000",
        "LOGIN_CLIENT_MAX_FAILURES": "100000",
        "REGISTER_CLIENT_MAX": "100000",
        # Every case uploads as the one fuzz account: a 429 would hide what the body gets.
        "AVATAR_UPLOADS_MAX": "100000",
        # Every case comes from one client, most with a token that cannot be used.
        "PASSWORD_FORGOT_ADDRESS_MAX": "100000",
        "PASSWORD_FORGOT_CLIENT_MAX": "100000",
        "MAIL_TOKEN_CLIENT_MAX_FAILURES": "100000",
        "EMAIL_VERIFY_SEND_MAX": "100000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "factsvc", "serve", "--embedded"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    service = Service(process, port)
    try:
        service.wait_ready()
        yield service
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def account(service: Service) -> str:
    """A registered username, to log in as before each request that needs a session."""
    username = "fuzz_" + secrets.token_hex(4)
    response = requests.post(
        f"{service.base_url}/register",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return username


def login(service: Service, username: str) -> str:
    response = requests.post(
        f"{service.base_url}/login",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def configured_schema(modes: list[GenerationMode]) -> BaseSchema:
    # Loaded from the shipped file at import; the base URL is given to each call, since the
    # service only starts with the module's first test. (schemathesis.pytest.from_fixture
    # would be the lazy way, but it reads Function._nodeid, which pytest 9 no longer has.)
    schema = schemathesis.openapi.from_dict(load_document())
    schema.config.update(request_timeout=30)
    schema.config.generation.update(modes=modes, max_examples=EXAMPLES, database="none")
    return schema


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


# A generated request to any of the document's operations.
FuzzCase = Case[Any]


def call(case: FuzzCase, service: Service, account: str) -> None:
    headers = None
    if case.path in SECURED:
        headers = {"Authorization": f"Bearer {login(service, account)}"}
    case.call_and_validate(base_url=service.base_url, headers=headers, checks=CHECKS, timeout=30)


FuzzTest = Callable[[FuzzCase, Service, str], None]


def parametrized(schema: BaseSchema) -> Callable[[FuzzTest], FuzzTest]:
    """`schema.parametrize()`, with the shape its bare `Callable` annotation leaves out."""
    decorator: Callable[[FuzzTest], FuzzTest] = schema.parametrize()
    return decorator


positive = configured_schema([GenerationMode.POSITIVE])
# Operations that take no input have no invalid requests to make.
negative = configured_schema([GenerationMode.NEGATIVE]).exclude(
    operation_id=["getHealth", "getReadiness", "getOpenApi", "isLogined"]
)


@parametrized(positive)
@FUZZ_SETTINGS
def test_valid_requests_are_answered_as_documented(
    case: FuzzCase, service: Service, account: str
) -> None:
    call(case, service, account)


@parametrized(negative)
@FUZZ_SETTINGS
def test_invalid_requests_are_refused_as_documented(
    case: FuzzCase, service: Service, account: str
) -> None:
    call(case, service, account)


def test_the_account_chain_answers_as_documented_at_each_step(service: Service) -> None:
    """register -> login -> isLogined -> info -> edit -> password change -> logout, with every
    answer validated against the document (status, and body against its schema)."""
    document = positive
    session = requests.Session()
    base = service.base_url
    username = "chain_" + secrets.token_hex(4)
    password, new_password = PASSWORD, PASSWORD + "-new"

    def step(method: str, path: str, status: int, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = session.request(method, base + path, headers=headers, timeout=10, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        document[path][method].validate_response(response)
        assert response.headers["X-Request-ID"]
        return response.json()

    user = step("POST", "/register", 201, json={"username": username, "password": password})
    assert user["user"]["username"] == username
    assert user["user"]["gender"] == "i"
    step("POST", "/register", 409, json={"username": username.upper(), "password": password})
    step("POST", "/login", 401, json={"username": username, "password": new_password})

    login = step("POST", "/login", 200, json={"username": username, "password": password})
    token = login["token"]
    assert login["user"] == user["user"]
    assert step("GET", "/isLogined", 200, token)["logined"] is True
    assert step("GET", "/isLogined", 200)["user"] is None
    assert step("GET", "/account/info", 200, token)["user"] == user["user"]
    step("GET", "/account/info", 401)

    edited = step("POST", "/account/edit", 200, token, json={"nickname": "Chain", "gender": "f"})
    assert (edited["user"]["nickname"], edited["user"]["gender"]) == ("Chain", "f")
    assert "token" not in edited
    step("POST", "/account/edit", 400, token, json={"password": new_password})
    step(
        "POST",
        "/account/edit",
        403,
        token,
        json={"password": new_password, "old_password": new_password},
    )
    changed = step(
        "POST",
        "/account/edit",
        200,
        token,
        json={"password": new_password, "old_password": password},
    )
    new_token = changed["token"]
    step("GET", "/account/info", 401, token)  # the password change ended the old session

    step("POST", "/logout", 200, new_token)
    step("GET", "/account/info", 401, new_token)
    step("POST", "/logout", 401, new_token)
    step("POST", "/login", 200, json={"username": username, "password": new_password})


def test_the_password_reset_answers_are_as_documented(service: Service) -> None:
    """forgot (known and unknown) -> reset with a token that cannot be used, and bad bodies,
    every answer validated against the document."""
    document = positive
    base = service.base_url

    def step(path: str, status: int, body: dict[str, Any]) -> Any:
        response = requests.post(base + path, json=body, timeout=10)
        assert response.status_code == status, (path, response.text)
        document[path]["POST"].validate_response(response)
        return response.json()

    step("/password/forgot", 202, {"username": "nobody_" + secrets.token_hex(4)})
    step("/password/forgot", 202, {"email": "nobody@example.com"})
    step("/password/forgot", 400, {"email": "nobody@example.com", "username": "nobody"})
    refused = step("/password/reset", 400, {"token": "A" * 47, "password": PASSWORD})
    assert refused["code"] == 1002
    assert "errors" not in refused
    assert step("/password/reset", 400, {"token": 5, "password": PASSWORD})["code"] == 3


def test_the_email_verification_answers_are_as_documented(service: Service) -> None:
    """register with an address -> ask for a new link -> verify with a token that cannot be
    used, and bad bodies, every answer validated against the document."""
    document = positive
    base = service.base_url
    username = "mail_" + secrets.token_hex(4)

    def step(path: str, status: int, body: dict[str, Any] | None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = requests.post(base + path, json=body, headers=headers, timeout=10)
        assert response.status_code == status, (path, response.text)
        document[path]["POST"].validate_response(response)
        return response.json()

    address = f"{username}@example.com"
    user = step("/register", 201, {"username": username, "password": PASSWORD, "email": address})
    assert (user["user"]["email"], user["user"]["email_verified"]) == (address, False)
    step("/register", 409, {"username": username + "x", "password": PASSWORD, "email": address})
    token = login(service, username)
    step("/account/email/verification", 202, None, token)
    step("/account/email/verification", 202, {}, token)
    step("/account/email/verification", 400, {"x": 1}, token)
    step("/account/email/verification", 401, {})
    refused = step("/email/verify", 400, {"token": "A" * 47})
    assert refused["code"] == 1002
    assert "errors" not in refused
    assert step("/email/verify", 400, {"token": 5})["code"] == 3
    missing = step("/account/edit", 400, {"email": None}, token)
    assert missing["errors"] == {"old_password": "is required to change the email address"}
    wrong = step("/account/edit", 403, {"email": None, "old_password": "wrong"}, token)
    assert wrong["code"] == 1001
    step("/account/edit", 200, {"email": None, "old_password": PASSWORD}, token)
    step("/account/email/verification", 400, {}, token)
