"""The one place where PyMongo's errors become domain errors."""

from __future__ import annotations

from types import TracebackType

from dns.exception import DNSException
from pymongo.errors import ConfigurationError, ConnectionFailure, DuplicateKeyError, PyMongoError

from factsvc.errors import DependencyUnavailable, Duplicate


def is_outage(error: PyMongoError) -> bool:
    """True for a lost or refused connection (ConnectionFailure, which includes server
    selection timeouts), for any operation that ran out of time (`error.timeout`), and for the
    DNS lookup of a mongodb+srv:// URI's hosts that failed (PyMongo makes it at the first
    operation, raising ConfigurationError from the DNSException, and tries again at the next)."""
    return (
        isinstance(error, ConnectionFailure)
        or error.timeout
        or (isinstance(error, ConfigurationError) and isinstance(error.__cause__, DNSException))
    )


class MongoErrors:
    """Context manager translating what PyMongo raises inside it:

    - DuplicateKeyError → Duplicate(unique_field), when a unique_field is given;
    - an outage (is_outage) → DependencyUnavailable({"mongodb": "unavailable"});
    - any other error (a bad query, a refused write) is a bug and passes unchanged, to become
      a logged 500.

    The translated error keeps the driver's as its `__cause__`."""

    __slots__ = ("_unique_field",)

    def __init__(self, unique_field: str | None = None) -> None:
        self._unique_field = unique_field

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._unique_field is not None and isinstance(error, DuplicateKeyError):
            raise Duplicate(self._unique_field) from error
        if isinstance(error, PyMongoError) and is_outage(error):
            raise DependencyUnavailable({"mongodb": "unavailable"}) from error


# Stateless, so one instance serves every adapter and every concurrent request.
mongo_errors = MongoErrors()
