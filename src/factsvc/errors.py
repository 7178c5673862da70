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
