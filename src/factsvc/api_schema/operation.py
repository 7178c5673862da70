"""What a route declares about itself: its handler and needs, and each operation's contract."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel
from tornado.web import RequestHandler

from factsvc.api_schema.caching import NO_STORE_CACHING, Caching
from factsvc.api_schema.defaults import SESSION_COOKIE, SESSION_COOKIE_IN_DEBUG
from factsvc.api_schema.errors import ErrorResponse


class Security(Enum):
    """Which credentials an operation takes: none, a session if there is one, or a session."""

    NONE = "none"
    OPTIONAL_SESSION = "optional session"
    SESSION = "session"

    def requirements(self) -> list[dict[str, list[str]]]:
        """OpenAPI's Security Requirement Objects, any one of which suffices ({}: none at all)."""
        session: list[dict[str, list[str]]] = [{"cookieAuth": []}, {"bearerAuth": []}]
        if self is Security.SESSION:
            return session
        return [{}, *session] if self is Security.OPTIONAL_SESSION else []


SECURITY_SCHEMES = {
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The signed session cookie set by /login, for browsers "
        f"(`{SESSION_COOKIE_IN_DEBUG}` in DEBUG).",
    },
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "The `token` from /login, for mobile apps; it takes precedence over the "
        "cookie. An Authorization header of another scheme counts as no session.",
    },
}


@dataclass(frozen=True)
class RequestBody:
    """A JSON request body: the model that validates it, and its name under components/schemas."""

    name: str
    model: type[BaseModel]


@dataclass(frozen=True)
class BinaryBody:
    """A request body of bytes, in one of `media_types`, as `description` says."""

    media_types: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class PathParameter:
    """A path segment `{name}` of a route: `pattern` is what it matches (a regular expression
    without anchors, Tornado's capture group and the document's schema alike)."""

    name: str
    pattern: str
    description: str

    def schema(self) -> dict[str, Any]:
        """The OpenAPI Parameter Object."""
        return {
            "name": self.name,
            "in": "path",
            "required": True,
            "description": self.description,
            "schema": {"type": "string", "pattern": f"^{self.pattern}$"},
        }


@dataclass(frozen=True)
class Operation:
    """One method of a route as the document describes it. `answer` is the success body's model
    (None for a plain-text body); `errors` the error responses besides ServerError, which every
    operation can give; `idempotent`: it takes the Idempotency-Key header; `links` OpenAPI Link
    Objects by name, as written in the document; `caching` how its answers may be stored
    (never, by default). A `media_type` other than JSON or text is bytes (format binary)."""

    method: str
    operation_id: str
    summary: str
    _: KW_ONLY
    tag: str
    answer: type[BaseModel] | None
    answer_description: str
    status: int = 200
    description: str | None = None
    security: Security = Security.NONE
    errors: tuple[ErrorResponse, ...] = ()
    body: RequestBody | BinaryBody | None = None
    query: type[BaseModel] | None = None
    sets_cookie: bool = False
    idempotent: bool = False
    links: Mapping[str, Any] = field(default_factory=dict)
    media_type: str = "application/json"
    caching: Caching = NO_STORE_CACHING


@dataclass(frozen=True)
class Route:
    """A path, the handler that serves it, the names of the dependencies its initialize() takes,
    and what it does per method; `parameters` its `{name}` segments, which the handler's
    methods take in order. Its name, in metrics and logs, is its path template."""

    path: str
    handler: type[RequestHandler]
    needs: tuple[str, ...]
    operations: tuple[Operation, ...]
    parameters: tuple[PathParameter, ...] = ()

    @property
    def pattern(self) -> str:
        """Tornado's pattern: the path's characters matching themselves only (the `.` of
        /openapi.json is no wildcard), each `{name}` a capture group of its pattern."""
        pattern = re.escape(self.path)
        for parameter in self.parameters:
            segment = re.escape("{" + parameter.name + "}")
            pattern = pattern.replace(segment, f"({parameter.pattern})")
        return pattern

    def rule(
        self, dependencies: Mapping[str, object]
    ) -> tuple[str, type[RequestHandler], dict[str, Any]]:
        """Tornado's (pattern, handler class, initialize() arguments); KeyError for a need
        missing from `dependencies`."""
        return self.pattern, self.handler, {need: dependencies[need] for need in self.needs}
