"""Session tokens: their shape, the user's tag they end with, and the key a store knows each
by."""

from __future__ import annotations

import hashlib
import math
import re
import secrets

TOKEN_BYTES = 32
# secrets.token_urlsafe writes unpadded base64url (RFC 4648 §5): 4 characters per 3 bytes,
# rounded up.
RANDOM_LENGTH = math.ceil(TOKEN_BYTES * 4 / 3)
# A token is its random part followed by its user's tag (user_tag): lowercase hex digits, so
# the whole token stays within base64url's alphabet, which is both a cookie-octet (RFC 6265
# §4.1.1) and a b64token (RFC 6750 §2.1). Tokens of before the tag (RANDOM_LENGTH characters)
# no longer match: they resolve as unknown.
TAG_LENGTH = 4
TOKEN_LENGTH = RANDOM_LENGTH + TAG_LENGTH
TOKEN_PATTERN = f"[A-Za-z0-9_-]{{{RANDOM_LENGTH}}}[0-9a-f]{{{TAG_LENGTH}}}"
TOKEN_SHAPE = re.compile(TOKEN_PATTERN)


def user_tag(user_id: str) -> str:
    """The user's tag: the first TAG_LENGTH hex digits of SHA-256(user id), the same for every
    session of the user, so that a store can keep them together (one Redis Cluster hash slot
    with the user's index and fence) and still find a session from its token alone.

    Unkeyed and deterministic on purpose: every instance derives it without a secret, and no
    secret's rotation moves a session. It tells nothing useful: the user id is no secret (the
    user reads it in every answer), the 16 bits are shared by one user in 65 536 and cannot be
    turned back into an id, and the token's 256 random bits stay as hard to guess; a holder of
    the token holds the session anyway."""
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:TAG_LENGTH]


def new_token(user_id: str) -> str:
    """A fresh session token for the user: TOKEN_BYTES random bytes in base64url, then
    user_tag(user_id); it matches TOKEN_PATTERN."""
    return secrets.token_urlsafe(TOKEN_BYTES) + user_tag(user_id)


def session_key(token: str) -> str:
    """What the store knows a session by: the token's tag (its user's), a colon, and the
    SHA-256 of the whole token in hex, so that a stolen store dump holds no usable token. The
    token must match TOKEN_SHAPE."""
    return f"{token[-TAG_LENGTH:]}:{hashlib.sha256(token.encode('ascii')).hexdigest()}"
