"""The request headers the document declares as parameters: Idempotency-Key."""

from __future__ import annotations

from typing import Any

from factsvc.api_schema.defaults import setting_default
from factsvc.config import Settings
from factsvc.config.declaring import variable_of
from factsvc.services import idempotency as key

_TTL = variable_of(Settings.model_fields["idempotency_key_ttl_seconds"])
_TTL_DEFAULT = setting_default("idempotency_key_ttl_seconds", int)
_UNKNOWN = variable_of(Settings.model_fields["register_unknown_outcome_seconds"])

IDEMPOTENCY_KEY_REF = {"$ref": "#/components/parameters/IdempotencyKey"}
IDEMPOTENCY_KEY = {
    "name": key.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry of this request safe (draft-ietf-httpapi-idempotency-key-header): a "
        "random value, new for each operation, sent again with each retry of it. A retry with "
        "the same key and body is answered with the first request's answer (its status and "
        "body) once that is final: a success, or a refusal after the checks (409 duplicate, "
        "403 wrong password). Answers that may change on retry (400, 429, 5xx) are not kept: "
        "the retry runs again. Nor is an answer that carries a token (a password change). The "
        "same key with another body is 422; while the first request runs, 409 with "
        "`Retry-After`. Keys are scoped: on /register to the username as sent (only the same "
        "body, password included, gets the answer), on /account/edit to the session. A key "
        f"is kept {_TTL} ({_TTL_DEFAULT} s by default) after its answer; a retry after that "
        "counts as a new request. The value is an "
        "sf-string (RFC 8941) or the bare key. Without a key, a registration retried with the "
        f"same username and password within {_UNKNOWN} of a 503 gets 201."
    ),
    "schema": {"type": "string", "pattern": key.HEADER_PATTERN},
    "example": '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
}
PARAMETERS: dict[str, Any] = {"IdempotencyKey": IDEMPOTENCY_KEY}
