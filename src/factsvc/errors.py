"""Domain errors raised by services and storage; handlers/base.py maps them to HTTP."""

from __future__ import annotations

from collections.abc import Mapping


class FactsvcError(Exception):
    """Base of every error the service layer means to report to a client."""


class InvalidInput(FactsvcError):
    """One or more fields of a request are not acceptable."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = dict(errors)


class NotFound(FactsvcError):
    """The requested resource or path does not exist."""


class DependencyUnavailable(FactsvcError):
    """A backing service (Redis, MongoDB) did not answer in time."""

    def __init__(self, states: Mapping[str, str], retry_after_seconds: int = 1) -> None:
        super().__init__(", ".join(f"{name}: {state}" for name, state in states.items()))
        self.states = dict(states)
        self.retry_after_seconds = retry_after_seconds


class Overloaded(FactsvcError):
    """Too much CPU-heavy work is already queued; the client should retry later."""

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
    """A password change gave the wrong current password."""


class Duplicate(FactsvcError):
    """A unique value (a username) is already taken."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is taken")
        self.field = field


class RateLimited(FactsvcError):
    """Too many attempts from this client or at this account; retry after the window."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class CrossOriginRefused(FactsvcError):
    """A browser request from an origin that is not trusted."""
