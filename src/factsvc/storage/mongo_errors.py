"""The one place where PyMongo's errors become domain errors."""

from __future__ import annotations

from collections.abc import Mapping
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

    - DuplicateKeyError → Duplicate(the field that `by_key` gives for a key of the index that
      refused the write, refused_keys), else Duplicate(unique_field), when a unique_field is
      given;
    - an outage (is_outage) → DependencyUnavailable({"mongodb": "unavailable"});
    - any other error (a bad query, a refused write) is a bug and passes unchanged, to become
      a logged 500.

    The translated error keeps the driver's as its `__cause__`."""

    __slots__ = ("_by_key", "_unique_field")

    def __init__(
        self, unique_field: str | None = None, *, by_key: Mapping[str, str] | None = None
    ) -> None:
        self._unique_field = unique_field
        self._by_key = dict(by_key or {})

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, DuplicateKeyError):
            named = (self._by_key[key] for key in refused_keys(error) if key in self._by_key)
            field = next(named, self._unique_field)
            if field is not None:
                raise Duplicate(field) from error
        if isinstance(error, PyMongoError) and is_outage(error):
            raise DependencyUnavailable({"mongodb": "unavailable"}) from error


def refused_keys(error: DuplicateKeyError) -> tuple[str, ...]:
    """The fields of the unique index that refused a write, in its order: the error's
    `keyPattern`, which mongod (from 4.2) and secantusdb send with every duplicate key error
    (the message's wording is for people); () when it is absent."""
    pattern = (error.details or {}).get("keyPattern")
    return tuple(str(key) for key in pattern) if isinstance(pattern, Mapping) else ()


# Stateless, so one instance serves every adapter and every concurrent request.
mongo_errors = MongoErrors()
