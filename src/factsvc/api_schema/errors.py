"""The error answers: their bodies, and each named response the operations refer to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from factsvc import errors as domain
from factsvc.api_schema.defaults import (
    AVATAR_MAX_BYTES,
    AVATAR_MAX_BYTES_VARIABLE,
    MAX_BODY_BYTES,
)
from factsvc.api_schema.responses import Closed
from factsvc.errors import FactsvcError
from factsvc.handlers.error_map import ERROR_TABLE, ErrorKind, kind_of_status
from factsvc.request_context import ACCEPTED_REQUEST_ID

RequestId = Annotated[
    str,
    Field(
        pattern=f"^{ACCEPTED_REQUEST_ID.pattern}$",
        description="This request's id, as in the X-Request-ID response header.",
    ),
]
FieldReasons = Annotated[
    dict[str, str],
    Field(
        min_length=1,
        description="One reason per refused field (`n`, `body`, a body field name, or the "
        "`Idempotency-Key` header).",
    ),
]
Detail = Annotated[
    str | SkipJsonSchema[None],
    Field(description="The exception's last line; only when the service runs in DEBUG."),
]
RetryAfterSeconds = Annotated[
    int,
    Field(
        ge=0,
        description="Seconds to wait before retrying: the `Retry-After` header's value, for "
        "clients that read only the body.",
    ),
]
DependencyState = Literal["ok", "unavailable"]


class ErrorBody(Closed):
    """An error: its envelope code, what went wrong, and the request's id."""

    code: int
    message: str
    request_id: RequestId


class RefusedFields(ErrorBody):
    errors: FieldReasons


class RefusedFieldsOrToken(ErrorBody):
    errors: Annotated[
        FieldReasons | SkipJsonSchema[None],
        Field(description="With code 3 only: one reason per refused field."),
    ] = None


class DuplicateBody(RefusedFields):
    retry_after: RetryAfterSeconds | SkipJsonSchema[None] = None


class InProgressBody(RefusedFields):
    retry_after: RetryAfterSeconds


class TooManyRequestsBody(ErrorBody):
    retry_after: RetryAfterSeconds


class ServerErrorBody(ErrorBody):
    detail: Detail = None


class DependencyStates(Closed):
    redis: DependencyState | SkipJsonSchema[None] = None
    mongodb: DependencyState | SkipJsonSchema[None] = None
    process: Literal["stopping"] | SkipJsonSchema[None] = None


class UnavailableBody(ServerErrorBody):
    dependencies: Annotated[
        DependencyStates | SkipJsonSchema[None],
        Field(description="The state of each dependency that was checked."),
    ] = None
    retry_after: RetryAfterSeconds


RETRY_AFTER = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}


@dataclass(frozen=True)
class ErrorResponse:
    """A named response under components/responses. `causes` are what it answers: domain
    errors, or HTTP statuses Tornado itself answers with (405, 413, 415, 500); its status and
    envelope codes are theirs in handlers/error_map.py's table, so the document cannot drift
    from what the service writes."""

    name: str
    causes: tuple[type[FactsvcError] | int, ...]
    description: str
    body: type[ErrorBody] = ErrorBody
    headers: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The one HTTP status of every cause; ValueError when they differ."""
        statuses = {kind.status for kind in self._kinds()}
        if len(statuses) != 1:
            raise ValueError(f"{self.name}: its causes answer with statuses {statuses}")
        return statuses.pop()

    @property
    def codes(self) -> tuple[int, ...]:
        """The envelope codes of its causes, each once, in the order of the causes."""
        return tuple(dict.fromkeys(kind.code for kind in self._kinds()))

    def _kinds(self) -> list[ErrorKind]:
        return [
            kind_of_status(cause) if isinstance(cause, int) else ERROR_TABLE[cause]
            for cause in self.causes
        ]


BAD_REQUEST = ErrorResponse(
    "BadRequest",
    (domain.InvalidInput,),
    "Bad parameter (code 3); `errors` names each refused field and why.",
    RefusedFields,
)
BAD_TOKEN_REQUEST = ErrorResponse(
    "BadRequestOrInvalidToken",
    (domain.InvalidInput, domain.InvalidToken),
    "Bad parameter (code 3), `errors` naming each refused field and why; or a mailed link's "
    "token that cannot be used (code 1002), without `errors`: unknown, malformed, used, "
    "expired or void, one answer for every reason.",
    RefusedFieldsOrToken,
)
NOT_LOGGED_IN = ErrorResponse("NotLoggedIn", (domain.NotAuthenticated,), "Not logged in (code 4).")
BAD_CREDENTIALS = ErrorResponse(
    "BadCredentials", (domain.BadCredentials,), "Wrong username or password (code 1001)."
)
CROSS_ORIGIN_REFUSED = ErrorResponse(
    "CrossOriginRefused",
    (domain.CrossOriginRefused,),
    "Illegal request (code 5): a state change from an untrusted origin.",
)
EDIT_FORBIDDEN = ErrorResponse(
    "EditForbidden",
    (domain.WrongOldPassword, domain.CrossOriginRefused),
    "Wrong `old_password` (code 1001), or a state change from an untrusted origin (code 5).",
)
DELETE_FORBIDDEN = ErrorResponse(
    "DeleteForbidden",
    (domain.WrongOldPassword, domain.CrossOriginRefused),
    "Wrong `password` (code 1001), or a state change from an untrusted origin (code 5).",
)
NOT_FOUND = ErrorResponse(
    "NotFound",
    (domain.NotFound,),
    "No such path (code 7); any method on an unknown path, and an avatar id that names none.",
)
METHOD_NOT_ALLOWED = ErrorResponse(
    "MethodNotAllowed",
    (HTTPStatus.METHOD_NOT_ALLOWED,),
    "Method not allowed (code 5), on a known path with a method it does not serve.",
    headers={
        "Allow": {
            "description": "The methods this path serves.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
)
DUPLICATE = ErrorResponse(
    "Duplicate",
    (domain.Duplicate, domain.IdempotencyKeyInFlight),
    'Duplicate (code 8): the username or email address is taken (`errors` is `{"username": '
    '"is taken"}` or `{"email": "is taken"}`), or a request with the same `Idempotency-Key` '
    "is still running (`errors` names the header; `Retry-After` and `retry_after` say when to "
    "retry for its answer).",
    DuplicateBody,
    headers={
        "Retry-After": {
            "description": "Seconds to wait before retrying; only while a request with the same "
            "`Idempotency-Key` runs.",
            "required": False,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
)
IN_PROGRESS = ErrorResponse(
    "InProgress",
    (domain.IdempotencyKeyInFlight,),
    "Request in progress (code 8): a request with the same `Idempotency-Key` is still running; "
    "retry after `Retry-After` (`retry_after` in the body) for its answer. `errors` names the "
    "header.",
    InProgressBody,
    headers=RETRY_AFTER,
)
KEY_REUSED = ErrorResponse(
    "KeyReused",
    (domain.IdempotencyKeyReused,),
    "Idempotency key reused (code 3): the `Idempotency-Key` came before with another body; "
    "send a new key for a new request. `errors` names the header.",
    RefusedFields,
)
PAYLOAD_TOO_LARGE = ErrorResponse(
    "PayloadTooLarge",
    (HTTPStatus.REQUEST_ENTITY_TOO_LARGE,),
    f"Body too large (code 3): {MAX_BODY_BYTES // 1024} KiB at most.",
)
UNSUPPORTED_MEDIA_TYPE = ErrorResponse(
    "UnsupportedMediaType",
    (HTTPStatus.UNSUPPORTED_MEDIA_TYPE,),
    "Body not JSON (code 3): the Content-Type must be `application/json` (charset UTF-8).",
)
IMAGE_TOO_LARGE = ErrorResponse(
    "ImageTooLarge",
    (HTTPStatus.REQUEST_ENTITY_TOO_LARGE,),
    f"Image too large (code 3): {AVATAR_MAX_BYTES // 1024} KiB at most "
    f"({AVATAR_MAX_BYTES_VARIABLE}), refused as soon as Content-Length declares more or the "
    "body passes it.",
)
UNSUPPORTED_IMAGE_TYPE = ErrorResponse(
    "UnsupportedImageType",
    (HTTPStatus.UNSUPPORTED_MEDIA_TYPE,),
    "Not an accepted image type (code 3): the Content-Type must be `image/png`, `image/jpeg` "
    "or `image/webp`.",
)
TOO_MANY_REQUESTS = ErrorResponse(
    "TooManyRequests",
    (domain.RateLimited,),
    "Too many requests (code 9): a login, registration, avatar upload, password reset or "
    "mailed token limit was reached; "
    "retry after `Retry-After` (`retry_after` in the body).",
    TooManyRequestsBody,
    headers=RETRY_AFTER,
)
SERVER_ERROR = ErrorResponse(
    "ServerError",
    (HTTPStatus.INTERNAL_SERVER_ERROR,),
    "System error (code 2): no traceback, driver text, host or port outside DEBUG.",
    ServerErrorBody,
)
UNAVAILABLE = ErrorResponse(
    "Unavailable",
    (domain.DependencyUnavailable, domain.Overloaded),
    "A dependency is unavailable or the server is busy (code 10); retry after `Retry-After` "
    "(`retry_after` in the body).",
    UnavailableBody,
    headers=RETRY_AFTER,
)
# In the order components/responses lists them.
ERROR_RESPONSES = (
    BAD_REQUEST,
    BAD_TOKEN_REQUEST,
    NOT_LOGGED_IN,
    BAD_CREDENTIALS,
    CROSS_ORIGIN_REFUSED,
    EDIT_FORBIDDEN,
    DELETE_FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    DUPLICATE,
    IN_PROGRESS,
    KEY_REUSED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    IMAGE_TOO_LARGE,
    UNSUPPORTED_IMAGE_TYPE,
    TOO_MANY_REQUESTS,
    SERVER_ERROR,
    UNAVAILABLE,
)

# What any JSON body may be refused with.
BODY_ERRORS = (BAD_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE)
# What a JSON body that carries a mailed token may be refused with.
TOKEN_BODY_ERRORS = (BAD_TOKEN_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE)
