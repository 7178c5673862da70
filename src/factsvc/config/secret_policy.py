"""What makes a session-signing secret strong enough to run outside DEBUG."""

from __future__ import annotations

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10
# Secrets that appear in Tornado's documentation and demos or in common templates.
WELL_KNOWN_SECRETS = frozenset(
    {
        "__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__",
        "0Q1AKOKTQHqaa+N80XhYW7KCGskOUE2snCW06UIxXgI=",
        "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo=",
        "change-me-to-a-long-random-string-of-at-least-32-chars",
    }
)


def secret_problem(secret: str) -> str | None:
    """Why `secret` is too weak to sign cookies with (e.g. "missing"), or None if it will do."""
    if not secret:
        return "missing"
    if secret in WELL_KNOWN_SECRETS:
        return "a well-known published value"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return "too few distinct characters"
    return None
