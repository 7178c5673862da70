"""The account lifecycle's operations: the avatar, the sessions a user sees and ends, and the
account's deletion (routes.py routes them)."""

from __future__ import annotations

from factsvc.api_schema import errors as e
from factsvc.api_schema import responses as r
from factsvc.api_schema import session_answers as sa
from factsvc.api_schema.caching import AVATAR_CACHING
from factsvc.api_schema.defaults import AVATAR_SIZE
from factsvc.api_schema.operation import (
    BinaryBody,
    Operation,
    PathParameter,
    RequestBody,
    Security,
)
from factsvc.handlers.avatars import AVATAR_HEADERS
from factsvc.services.avatar_image import ACCEPTED_MEDIA_TYPES, THUMBNAIL_MEDIA_TYPE
from factsvc.services.avatar_store import AVATAR_ID
from factsvc.services.deletion_body import AccountDeletionBody
from factsvc.services.revoke_body import RevokeSessionsBody

BODY_ERRORS = e.BODY_ERRORS
# Cache-Control is the caching's to document.
SERVED_WITH = ", ".join(
    f"`{name}: {value}`" for name, value in AVATAR_HEADERS.items() if name != "Cache-Control"
)

PUT_AVATAR = Operation(
    "put",
    "putAvatar",
    "Replace the avatar with an image",
    description="The body is the image itself. Its thumbnail, the centre square scaled to "
    f"{AVATAR_SIZE}x{AVATAR_SIZE} (AVATAR_SIZE) and re-encoded as WebP with no metadata, "
    "becomes the avatar, under a new `avatar_url`; the one it replaces is deleted. A body "
    "that is not an image of its Content-Type (truncated, damaged, another format, more "
    "pixels than AVATAR_MAX_PIXELS) is 400 with `errors.body`. Uploads per user are limited "
    "(AVATAR_UPLOADS_MAX per AVATAR_UPLOADS_WINDOW_SECONDS).",
    tag="avatars",
    security=Security.SESSION,
    body=BinaryBody(
        tuple(ACCEPTED_MEDIA_TYPES),
        "A PNG, JPEG or WebP image, of the type its Content-Type names.",
    ),
    answer=r.UserAnswer,
    answer_description="The user, with the new `avatar_url`.",
    errors=(
        e.BAD_REQUEST,
        e.NOT_LOGGED_IN,
        e.CROSS_ORIGIN_REFUSED,
        e.IMAGE_TOO_LARGE,
        e.UNSUPPORTED_IMAGE_TYPE,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
)
DELETE_AVATAR = Operation(
    "delete",
    "deleteAvatar",
    "Remove the avatar",
    description="Deletes the avatar's file; `avatar_url` becomes null. No avatar is no error.",
    tag="avatars",
    security=Security.SESSION,
    answer=r.UserAnswer,
    answer_description="The user, `avatar_url` null.",
    errors=(e.NOT_LOGGED_IN, e.CROSS_ORIGIN_REFUSED, e.PAYLOAD_TOO_LARGE, e.UNAVAILABLE),
)
GET_AVATAR = Operation(
    "get",
    "getAvatar",
    "An avatar image",
    description="The bytes of the avatar an `avatar_url` names, for anyone (no session). "
    f"Served with {SERVED_WITH} (pages of other sites may show it). Not an envelope.",
    tag="avatars",
    answer=None,
    answer_description="The image.",
    media_type=THUMBNAIL_MEDIA_TYPE,
    errors=(e.NOT_FOUND, e.UNAVAILABLE),
    caching=AVATAR_CACHING,
)
AVATAR_ID_PARAMETER = PathParameter(
    "id", AVATAR_ID.pattern, "The avatar's id, as its user's `avatar_url` ends."
)
LIST_SESSIONS = Operation(
    "get",
    "listSessions",
    "The user's live sessions",
    description="Each session of the user that has not ended: when it was opened and last "
    "used, the client address and a short form of the User-Agent of its login, and which one "
    "this request runs in. A user keeps at most SESSION_MAX_PER_USER sessions: a login beyond "
    "it ends those nearest to their end.",
    tag="sessions",
    security=Security.SESSION,
    answer=sa.SessionList,
    answer_description="The sessions, newest first.",
    errors=(e.NOT_LOGGED_IN, e.UNAVAILABLE),
)
REVOKE_SESSIONS = Operation(
    "post",
    "revokeSessions",
    "End one session, or all but this one",
    description="`id` ends that session of the user, this request's own too (then a carried "
    "cookie is expired, as by /logout); an `id` that is not one of the user's live sessions is "
    "404 and ends nothing. `all` ends every session of the user but this request's. An ended "
    "session's token is refused (401) from then on.",
    tag="sessions",
    security=Security.SESSION,
    body=RequestBody("RevokeSessionsRequest", RevokeSessionsBody),
    answer=sa.SessionsRevoked,
    answer_description="How many sessions were ended.",
    sets_cookie=True,
    errors=(*BODY_ERRORS, e.NOT_LOGGED_IN, e.CROSS_ORIGIN_REFUSED, e.NOT_FOUND, e.UNAVAILABLE),
)
ACCOUNT_DELETE = Operation(
    "post",
    "accountDelete",
    "Delete the account, its avatar and every session",
    description="Needs the account's password (a wrong one counts against the same limit as "
    "failed logins). Final: afterwards a login fails as for an unknown user, and the username "
    "is free for a new account, which shares nothing with this one. The carried cookie is "
    "expired. A 503 may come after the sessions were ended: then the cookie is expired too, "
    "and Retry-After says when a login opens a session again, to delete again with it.",
    tag="accounts",
    security=Security.SESSION,
    body=RequestBody("DeleteAccountRequest", AccountDeletionBody),
    answer=r.AccountDeleted,
    answer_description="Deleted.",
    sets_cookie=True,
    idempotent=True,
    errors=(
        *BODY_ERRORS,
        e.NOT_LOGGED_IN,
        e.DELETE_FORBIDDEN,
        e.IN_PROGRESS,
        e.KEY_REUSED,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
)
