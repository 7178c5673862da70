"""Domain errors and what each tells a client; handlers/error_map.py gives their HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping


class FactsvcError(Exception):
    """Base of every error the service layer means to report to a client.

    `retry_after_seconds`: when a retry may succeed (whole seconds), or None when retrying the
    same request cannot help. `body_fields()`: details a client needs, beyond the error's kind.
    """

    retry_after_seconds: int | None = None

    def body_fields(self) -> Mapping[str, object]:
        """Fields to add to the answer's body, by name; none unless a subclass has some."""
        return {}


class InvalidInput(FactsvcError):
    """One or more fields of a request are not acceptable."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = dict(errors)

    def body_fields(self) -> Mapping[str, object]:
        """`errors`: the reason for each refused field, by field name."""
        return {"errors": self.errors}


class NotFound(FactsvcError):
    """The requested resource or path does not exist."""


class DependencyUnavailable(FactsvcError):
    """A backing service (Redis, MongoDB) did not answer in time."""

    retry_after_seconds: int

    def __init__(self, states: Mapping[str, str], retry_after_seconds: int = 1) -> None:
        super().__init__(", ".join(f"{name}: {state}" for name, state in states.items()))
        self.states = dict(states)
        self.retry_after_seconds = retry_after_seconds

    def body_fields(self) -> Mapping[str, object]:
        """`dependencies`: each backing service's state, by name."""
        return {"dependencies": self.states}


class DeletionInterrupted(DependencyUnavailable):
    """An account deletion stopped by an outage once it had begun ending the user's sessions:
    the account may remain, without them. `retry_after_seconds` is when a login may open one
    again (the credential fence's change time), to delete again with it."""


class Overloaded(FactsvcError):
    """Too much CPU-heavy work is already queued; the client should retry later."""

    retry_after_seconds: int

    def __init__(self, what: str, retry_after_seconds: int = 1) -> None:
        super().__init__(f"{what} queue is full")
        self.retry_after_seconds = retry_after_seconds


class CacheUnavailable(FactsvcError):
    """The shared cache could not be reached; callers carry on without it."""


class NotAuthenticated(FactsvcError):
    """The request carries no valid session."""


class BadCredentials(FactsvcError):
    """Unknown username or wrong password: deliberately one error for both."""


class WrongOldPassword(FactsvcError):
    """A request that re-authenticates gave a password that is not the account's current one:
    a password change's `old_password`, an account deletion's `password`."""


class InvalidToken(FactsvcError):
    """A token mailed for one use (an email verification, a password reset) that is unknown,
    malformed, used, expired or made void: deliberately one error for all, so that an answer
    tells nothing of which tokens were ever issued."""


class Duplicate(FactsvcError):
    """A unique value (a username) is already taken."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is taken")
        self.field = field

    def body_fields(self) -> Mapping[str, object]:
        """`errors`: the taken field, with the reason "is taken"."""
        return {"errors": {self.field: "is taken"}}


class IdempotencyKeyReused(FactsvcError):
    """An Idempotency-Key already used with a different request body (draft-ietf-httpapi-
    idempotency-key-header §2.7: a client must not reuse a key for another payload)."""

    def body_fields(self) -> Mapping[str, object]:
        """`errors`: the header, with the reason."""
        return {"errors": {"Idempotency-Key": "was used with a different body"}}


class IdempotencyKeyInFlight(FactsvcError):
    """A request with this Idempotency-Key is still being processed; retrying later answers
    with its outcome (draft-ietf-httpapi-idempotency-key-header §2.7)."""

    retry_after_seconds = 1

    def body_fields(self) -> Mapping[str, object]:
        """`errors`: the header, with the reason."""
        return {"errors": {"Idempotency-Key": "a request with this key is in progress"}}


class RateLimited(FactsvcError):
    """Too many attempts from this client or at this account; retry after the window."""

    retry_after_seconds: int

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class CrossOriginRefused(FactsvcError):
    """A browser request from an origin that is not trusted."""
